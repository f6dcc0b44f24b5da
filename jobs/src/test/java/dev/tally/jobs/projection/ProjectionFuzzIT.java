package dev.tally.jobs.projection;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tally.common.events.EventCodec;
import dev.tally.common.events.EventDecodingException;
import dev.tally.common.events.Lane;
import dev.tally.common.kafka.EventProducer;
import dev.tally.events.CheckIn;
import dev.tally.events.Event;
import dev.tally.events.EventType;
import dev.tally.events.QrScan;
import dev.tally.events.TaskCompleted;
import dev.tally.jobs.views.ActivityView;
import dev.tally.jobs.views.UserScoreView;
import dev.tally.testing.FlinkMiniCluster;
import dev.tally.testing.KafkaBroker;
import dev.tally.testing.KafkaExtension;
import dev.tally.testing.PostgresExtension;
import dev.tally.testing.PostgresServer;
import dev.tally.testing.ValkeyExtension;
import dev.tally.testing.ValkeyServer;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * 10,000 fuzzed records — random bytes, empty values, valid events with boundary values, events
 * breaking each rule, oversized records, and valid encodings with bytes flipped — through the real
 * job with restarts off: the job never fails, every record the codec refuses is dead-lettered with
 * the codec's reason, and every record it accepts is counted exactly once by (user, event id), as
 * an independent fold over the same bytes says.
 */
@ExtendWith({KafkaExtension.class, ValkeyExtension.class, PostgresExtension.class})
class ProjectionFuzzIT {

  @RegisterExtension static final MiniClusterExtension FLINK = FlinkMiniCluster.extension();

  private static final int RECORDS = 10_000;
  private static final long MAX_LEAD_MS = Duration.ofHours(1).toMillis();

  /** One record as sent, with where the broker put it. */
  record Sent(String topic, int partition, long offset, long appendTime, byte[] value) {}

  @Test
  @Timeout(420)
  void everyFuzzedRecordIsCountedOrDeadLetteredAndTheJobNeverFails(
      KafkaBroker kafka, ValkeyServer valkey, PostgresServer postgres) throws Exception {
    ProjectionTestSetup setup =
        new ProjectionTestSetup("fuzz", kafka, valkey, postgres, Duration.ofSeconds(1));
    ProducedLog warmUp = new ProducedLog().send(kafka.bootstrapServers(), setup.warmUp());
    List<Sent> fuzzed = send(kafka, setup, new Fuzzer(new Random(20261202)).records(RECORDS));

    Oracle oracle = new Oracle();
    for (ProducedLog.Sent sent : warmUp.records()) {
      oracle.count(sent.record().event());
    }
    for (Sent sent : fuzzed) {
      oracle.judge(sent);
    }
    assertThat(oracle.deadLetters.values())
        .as("the fuzzer reaches every refusal")
        .contains("bad-header", "corrupt", "unknown-schema", "invalid");
    assertThat(oracle.counted).as("… and counts some of its records").isGreaterThan(1_000);

    Configuration noRestarts = new Configuration();
    noRestarts.set(RestartStrategyOptions.RESTART_STRATEGY, "none");
    StreamExecutionEnvironment env = ProjectionTestSetup.job(setup.config, null, noRestarts);
    JobClient job = env.executeAsync("fuzz");
    try {
      long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
      Map<String, Map<String, Long>> served = Map.of();
      while (System.nanoTime() < deadline) {
        assertThat(job.getJobStatus().get(10, TimeUnit.SECONDS))
            .as("with restarts off, any failure would end the job")
            .isIn(JobStatus.INITIALIZING, JobStatus.CREATED, JobStatus.RUNNING);
        served = ServedViews.valkey(setup.valkey, setup.generation, UserScoreView.NAME);
        if (served.equals(oracle.userScore)) {
          break;
        }
        Thread.sleep(500);
      }
      assertThat(served)
          .as("user_score: the fold of what the codec accepts")
          .isEqualTo(oracle.userScore);
      assertThat(ServedViews.postgres(setup.schema.jdbcUrl(), setup.generation, UserScoreView.NAME))
          .isEqualTo(oracle.userScore);
      assertThat(ServedViews.valkey(setup.valkey, setup.generation, ActivityView.NAME))
          .isEqualTo(
              ServedViews.postgres(setup.schema.jdbcUrl(), setup.generation, ActivityView.NAME));

      Map<String, String> letters = ServedViews.deadLetters(kafka, setup.deadLetterTopic());
      Map<String, String> refused = new TreeMap<>();
      letters.forEach(
          (coordinates, reason) -> {
            if (!reason.equals("late")) {
              refused.put(coordinates, reason);
            }
          });
      assertThat(refused)
          .as("every refused record, with the codec's reason")
          .isEqualTo(new TreeMap<>(oracle.deadLetters));
      letters.forEach(
          (coordinates, reason) -> {
            if (reason.equals("late")) {
              assertThat(oracle.deadLetters).doesNotContainKey(coordinates);
            }
          });
      assertThat(job.getJobStatus().get(10, TimeUnit.SECONDS)).isEqualTo(JobStatus.RUNNING);
    } finally {
      job.cancel().get(1, TimeUnit.MINUTES);
    }
  }

  private static List<Sent> send(
      KafkaBroker kafka, ProjectionTestSetup setup, List<Fuzzer.Record> records) {
    List<CompletableFuture<RecordMetadata>> acks = new ArrayList<>();
    try (EventProducer producer =
        new EventProducer(kafka.bootstrapServers(), setup.prefix, new Properties())) {
      for (Fuzzer.Record record : records) {
        acks.add(producer.sendRaw(record.lane().topic(setup.prefix), record.key(), record.value()));
      }
    }
    List<Sent> sent = new ArrayList<>();
    for (int i = 0; i < records.size(); i++) {
      RecordMetadata metadata = acks.get(i).join();
      sent.add(
          new Sent(
              metadata.topic(),
              metadata.partition(),
              metadata.offset(),
              metadata.timestamp(),
              records.get(i).value()));
    }
    return sent;
  }

  /** What the job should do with each record, decided from the bytes alone by the codec. */
  private static final class Oracle {
    final Map<String, Map<String, Long>> userScore = new TreeMap<>();
    final Map<String, String> deadLetters = new HashMap<>();
    final Set<String> seen = new HashSet<>();
    final EventCodec codec = new EventCodec();
    long counted;

    void judge(Sent sent) {
      String coordinates = ExpectedViews.coordinates(sent.topic(), sent.partition(), sent.offset());
      Event event;
      try {
        event = codec.decode(sent.value());
      } catch (EventDecodingException e) {
        deadLetters.put(coordinates, e.reason().code());
        return;
      }
      if (event.getOccurredAt().toEpochMilli() - sent.appendTime() > MAX_LEAD_MS) {
        deadLetters.put(coordinates, "invalid");
        return;
      }
      if (count(event)) {
        counted++;
      }
    }

    boolean count(Event event) {
      if (!seen.add(event.getUserId() + "\u0000" + event.getEventId())) {
        return false;
      }
      long points =
          event.getPayload() instanceof TaskCompleted task && task.getPoints() != null
              ? task.getPoints()
              : ExpectedViews.POINTS.get(event.getType());
      Map<String, Long> score = userScore.computeIfAbsent(event.getUserId(), u -> new TreeMap<>());
      score.merge("points", points, Long::sum);
      score.merge("events", 1L, Long::sum);
      score.merge("last_activity_ms", event.getOccurredAt().toEpochMilli(), Math::max);
      return true;
    }
  }

  /** Records meant to break the job, each kind in proportion. */
  static final class Fuzzer {
    record Record(Lane lane, String key, byte[] value) {}

    private final Random random;
    private final EventCodec codec = new EventCodec();
    private long clock = ProjectionTestSetup.T0.plus(Duration.ofDays(1)).toEpochMilli();

    Fuzzer(Random random) {
      this.random = random;
    }

    List<Record> records(int count) {
      List<Record> records = new ArrayList<>(count);
      while (records.size() < count) {
        int kind = random.nextInt(100);
        if (kind < 15) {
          records.add(randomBytes());
        } else if (kind < 40) {
          records.add(encoded(boundaryEvent()));
        } else if (kind < 55) {
          records.add(raw(ruleBreaker()));
        } else if (kind < 58) {
          records.add(oversized());
        } else {
          // A valid event, then copies of it with bytes flipped (same key: same partition).
          Event original = boundaryEvent();
          Record valid = encoded(original);
          records.add(valid);
          for (int copies = 1 + random.nextInt(3); copies > 0; copies--) {
            records.add(flipped(valid));
          }
        }
      }
      return records.subList(0, count);
    }

    private Lane lane() {
      return Lane.values()[random.nextInt(Lane.values().length)];
    }

    private Record randomBytes() {
      int length = random.nextInt(10) == 0 ? 0 : random.nextInt(200);
      byte[] bytes = new byte[length];
      random.nextBytes(bytes);
      if (length > 2 && random.nextBoolean()) {
        bytes[0] = (byte) 0xC3;
        bytes[1] = 0x01;
      }
      return new Record(
          lane(), "user-" + random.nextInt(500), random.nextInt(20) == 0 ? null : bytes);
    }

    private Event boundaryEvent() {
      clock += random.nextInt(50);
      String user =
          switch (random.nextInt(6)) {
            case 0 -> "u".repeat(EventCodec.MAX_NAME);
            case 1 -> "ユーザー-" + random.nextInt(50);
            case 2 -> " " + random.nextInt(50);
            default -> "user-" + random.nextInt(500);
          };
      long occurredAt =
          switch (random.nextInt(10)) {
            case 0 -> EventCodec.EARLIEST.toEpochMilli();
            case 1 -> clock - Duration.ofDays(400).toMillis();
            default -> clock;
          };
      Integer points =
          switch (random.nextInt(6)) {
            case 0 -> Integer.MAX_VALUE;
            case 1 -> Integer.MIN_VALUE;
            case 2 -> 0;
            case 3 -> null;
            default -> random.nextInt(1000) - 500;
          };
      String hunt = random.nextInt(3) == 0 ? null : "hunt-" + random.nextInt(5);
      String id = new java.util.UUID(random.nextLong(), random.nextLong()).toString();
      return switch (random.nextInt(3)) {
        case 0 ->
            new Event(
                id,
                EventType.TASK_COMPLETED,
                user,
                hunt,
                Instant.ofEpochMilli(occurredAt),
                "fuzz",
                new TaskCompleted("t", points));
        case 1 ->
            new Event(
                id,
                EventType.QR_SCAN,
                user,
                hunt,
                Instant.ofEpochMilli(occurredAt),
                "fuzz",
                new QrScan("c", "p"));
        default ->
            new Event(
                id,
                EventType.CHECKIN,
                user,
                hunt,
                Instant.ofEpochMilli(occurredAt),
                "fuzz",
                new CheckIn("p", random.nextBoolean() ? null : "fp"));
      };
    }

    /** Events the encoder would refuse, written as a foreign producer would. */
    private Event ruleBreaker() {
      Event event = boundaryEvent();
      switch (random.nextInt(6)) {
        case 0 -> event.setOccurredAt(Instant.ofEpochMilli(Long.MAX_VALUE));
        case 1 -> event.setOccurredAt(Instant.now().plus(Duration.ofDays(30)));
        case 2 -> event.setUserId("u".repeat(EventCodec.MAX_NAME + 1));
        case 3 -> event.setEventId("");
        case 4 -> event.setPayload(new QrScan("c", "p"));
        default -> event.setUserId(" ");
      }
      if (event.getType() == EventType.QR_SCAN && event.getPayload() instanceof QrScan) {
        event.setType(EventType.CHECKIN);
      }
      return event;
    }

    private Record oversized() {
      Event event = boundaryEvent();
      event.setType(EventType.CHECKIN);
      event.setPayload(new CheckIn("p".repeat(EventCodec.MAX_RECORD_BYTES), null));
      return raw(event);
    }

    private Record encoded(Event event) {
      return new Record(lane(), event.getUserId(), codec.encode(event));
    }

    private Record raw(Event event) {
      try {
        ByteBuffer buffer = Event.getEncoder().encode(event);
        byte[] bytes = new byte[buffer.remaining()];
        buffer.get(bytes);
        return new Record(lane(), event.getUserId(), bytes);
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }

    private Record flipped(Record valid) {
      byte[] bytes = valid.value().clone();
      for (int flips = 1 + random.nextInt(3); flips > 0; flips--) {
        int at =
            random.nextInt(10) == 0 ? random.nextInt(10) : 10 + random.nextInt(bytes.length - 10);
        bytes[at] = (byte) random.nextInt(256);
      }
      return new Record(valid.lane(), valid.key(), bytes);
    }
  }
}
