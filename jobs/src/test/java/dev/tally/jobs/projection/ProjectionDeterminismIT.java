package dev.tally.jobs.projection;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tally.common.events.Lane;
import dev.tally.common.generator.GeneratorOptions;
import dev.tally.common.generator.RecordKind;
import dev.tally.common.views.ViewKeys;
import dev.tally.jobs.decode.DeadLetterSerializer;
import dev.tally.testing.FlinkMiniCluster;
import dev.tally.testing.KafkaBroker;
import dev.tally.testing.KafkaExtension;
import dev.tally.testing.PostgresExtension;
import dev.tally.testing.PostgresServer;
import dev.tally.testing.ValkeyExtension;
import dev.tally.testing.ValkeyServer;
import io.valkey.UnifiedJedis;
import io.valkey.params.ScanParams;
import io.valkey.resps.ScanResult;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Promise 7: the views are a pure function of the log. One log — late events near the lateness
 * bound on every partition, out-of-order events, duplicates, malformed records, and re-sends past
 * the dedup horizon in log time — is projected three ways: (a) live, by a job reading the records
 * as they are produced at a trickle; (b) by a rebuild at full speed once everything is in the log;
 * (c) by a rebuild at another parallelism. The three generations are identical in Valkey (every
 * key, every field, every ranking) and in PostgreSQL (every row but its write time), and each run
 * dead-letters the same source records for the same reasons.
 */
@ExtendWith({KafkaExtension.class, ValkeyExtension.class, PostgresExtension.class})
class ProjectionDeterminismIT {

  @RegisterExtension static final MiniClusterExtension FLINK = FlinkMiniCluster.extension();

  /** Short, so the test can re-send events past it in log (append) time. */
  private static final Duration HORIZON = Duration.ofSeconds(3);

  private static final long RECORDS = 30_000;
  private static final double TRICKLE = 3_000;
  private static final int RESENT = 300;

  @Test
  @Timeout(600)
  void liveRebuildAndAnotherParallelismProjectTheSameLogIdentically(
      KafkaBroker kafka, ValkeyServer valkey, PostgresServer postgres) throws Exception {
    ProjectionTestSetup setup =
        new ProjectionTestSetup("determinism", kafka, valkey, postgres, Duration.ofSeconds(1));
    int live = setup.generation;
    int rebuild = ProjectionTestSetup.nextGeneration();
    int other = ProjectionTestSetup.nextGeneration();

    // (a) Live: the job runs while the log is written, at a trickle.
    ProjectionConfig liveConfig = setup.variant(live, "determinism-live-" + live, 2, HORIZON);
    StreamExecutionEnvironment env = ProjectionTestSetup.job(liveConfig, null);
    JobClient liveJob = env.executeAsync("determinism-live");
    ProducedLog log = new ProducedLog();
    try {
      CompletableFuture.runAsync(
              () -> {
                log.send(kafka.bootstrapServers(), setup.warmUp(), TRICKLE);
                log.send(kafka.bootstrapServers(), nearTheBound(setup), TRICKLE);
              })
          .get(5, TimeUnit.MINUTES);
      // Re-send a few hundred of the earliest events once the horizon has passed in log time.
      Thread.sleep(HORIZON.toMillis() + 1_000);
      List<ProducedLog.Sent> resent =
          log.records().stream()
              .filter(s -> s.record().event() != null)
              .limit(RESENT)
              .collect(Collectors.toList());
      log.sendAgain(kafka.bootstrapServers(), setup.prefix, resent);
      awaitCommitted(kafka, liveConfig.sources().groupId(), endOffsets(kafka, laneTopics(setup)));
    } finally {
      liveJob.cancel().get(1, TimeUnit.MINUTES);
    }
    Map<TopicPartition, Long> afterLive = endOffsets(kafka, List.of(setup.deadLetterTopic()));

    // (b) A rebuild at full speed, (c) another at parallelism 3: bounded, everything in the log.
    runBounded(setup, setup.variant(rebuild, "determinism-rebuild-" + rebuild, 2, HORIZON));
    Map<TopicPartition, Long> afterRebuild = endOffsets(kafka, List.of(setup.deadLetterTopic()));
    runBounded(setup, setup.variant(other, "determinism-other-" + other, 3, HORIZON));
    Map<TopicPartition, Long> afterOther = endOffsets(kafka, List.of(setup.deadLetterTopic()));

    // The log has what the test is about.
    long late = log.records().stream().filter(s -> s.record().kind() == RecordKind.LATE).count();
    Set<String> deadLetteredLive = deadLetters(kafka, null, afterLive).keySet();
    Map<String, String> reasons = deadLetters(kafka, null, afterLive);
    long refusedLate = reasons.values().stream().filter("late"::equals).count();
    assertThat(refusedLate)
        .as("some late events refused, others within the bound still counted")
        .isPositive()
        .isLessThan(late);
    assertThat(deadLetteredLive).isNotEmpty();

    Map<String, String> valkeyLive = valkeyContents(setup, live);
    assertThat(valkeyContents(setup, rebuild)).as("Valkey: rebuild = live").isEqualTo(valkeyLive);
    assertThat(valkeyContents(setup, other))
        .as("Valkey: parallelism 3 = live")
        .isEqualTo(valkeyLive);
    List<String> postgresLive = postgresRows(setup, live);
    assertThat(postgresRows(setup, rebuild))
        .as("PostgreSQL: rebuild = live")
        .isEqualTo(postgresLive);
    assertThat(postgresRows(setup, other))
        .as("PostgreSQL: parallelism 3 = live")
        .isEqualTo(postgresLive);

    assertThat(deadLetters(kafka, afterLive, afterRebuild))
        .as("dead letters: rebuild = live")
        .isEqualTo(reasons);
    assertThat(deadLetters(kafka, afterRebuild, afterOther))
        .as("dead letters: parallelism 3 = live")
        .isEqualTo(reasons);

    long distinct =
        log.records().stream()
            .filter(s -> s.record().event() != null)
            .map(s -> s.record().event().getEventId())
            .distinct()
            .count();
    long counted =
        ServedViews.postgres(setup.schema.jdbcUrl(), live, "user_score").values().stream()
            .mapToLong(fields -> fields.get("events"))
            .sum();
    assertThat(counted)
        .as("re-sends past the horizon (log time) counted again: more events than distinct ids")
        // At least the re-sent block; the load's own duplicates sent late enough may count too.
        .isGreaterThanOrEqualTo(distinct + RESENT)
        .isLessThan(log.records().size());
  }

  /** The load: late events from just inside to well beyond the bound, on every partition. */
  private static GeneratorOptions nearTheBound(ProjectionTestSetup setup) {
    // The minute closes 30 s after its end by a clock 2 s behind the partition's newest event:
    // 10 s to 2 min late straddles the bound, depending on each partition's records.
    return setup
        .load(RECORDS, 0.05, 0.05, 0.04, 0.01)
        .withLateness(Duration.ofSeconds(10), Duration.ofSeconds(120));
  }

  private static List<String> laneTopics(ProjectionTestSetup setup) {
    return java.util.Arrays.stream(Lane.values()).map(l -> l.topic(setup.prefix)).toList();
  }

  private static void runBounded(ProjectionTestSetup setup, ProjectionConfig config)
      throws Exception {
    StreamExecutionEnvironment env = ProjectionTestSetup.job(config, OffsetsInitializer.latest());
    FlinkMiniCluster.awaitCompletion(
        env.executeAsync(config.sources().groupId()), Duration.ofMinutes(5));
  }

  private static Map<TopicPartition, Long> endOffsets(KafkaBroker kafka, List<String> topics)
      throws Exception {
    Map<TopicPartition, OffsetSpec> request = new LinkedHashMap<>();
    for (var description : kafka.admin().describeTopics(topics).allTopicNames().get().values()) {
      description
          .partitions()
          .forEach(
              p ->
                  request.put(
                      new TopicPartition(description.name(), p.partition()), OffsetSpec.latest()));
    }
    Map<TopicPartition, Long> ends =
        new TreeMap<>(java.util.Comparator.comparing(Object::toString));
    kafka
        .admin()
        .listOffsets(request)
        .all()
        .get()
        .forEach((tp, info) -> ends.put(tp, info.offset()));
    return ends;
  }

  /** Waits until the job committed (on a completed checkpoint) every offset up to the ends. */
  private static void awaitCommitted(
      KafkaBroker kafka, String group, Map<TopicPartition, Long> ends) throws Exception {
    long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
    while (true) {
      Map<TopicPartition, OffsetAndMetadata> committed =
          kafka.admin().listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
      boolean done =
          ends.entrySet().stream()
              .allMatch(
                  e ->
                      committed.get(e.getKey()) != null
                          && committed.get(e.getKey()).offset() >= e.getValue());
      if (done) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("the live job did not commit " + ends + "; it has " + committed);
      }
      Thread.sleep(200);
    }
  }

  /** Dead letters in [from, to) per partition: source coordinates → reason. */
  private static Map<String, String> deadLetters(
      KafkaBroker kafka, Map<TopicPartition, Long> from, Map<TopicPartition, Long> to) {
    Properties props = kafka.clientProperties();
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    Map<String, String> letters = new TreeMap<>();
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      consumer.assign(to.keySet());
      for (TopicPartition partition : to.keySet()) {
        consumer.seek(partition, from == null ? 0 : from.getOrDefault(partition, 0L));
      }
      Set<TopicPartition> open = new HashSet<>(to.keySet());
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (!open.isEmpty() && System.nanoTime() < deadline) {
        open.removeIf(p -> consumer.position(p) >= to.get(p));
        for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
          if (record.offset() >= to.get(new TopicPartition(record.topic(), record.partition()))) {
            continue;
          }
          letters.put(
              header(record, DeadLetterSerializer.SOURCE_TOPIC)
                  + "/"
                  + header(record, DeadLetterSerializer.SOURCE_PARTITION)
                  + "/"
                  + header(record, DeadLetterSerializer.SOURCE_OFFSET),
              header(record, DeadLetterSerializer.REASON));
        }
      }
    }
    return letters;
  }

  private static String header(ConsumerRecord<?, ?> record, String name) {
    Header header = record.headers().lastHeader(name);
    return header == null ? null : new String(header.value(), StandardCharsets.UTF_8);
  }

  /** Every key of a generation (name without the generation) → its whole value, as text. */
  private static Map<String, String> valkeyContents(ProjectionTestSetup setup, int generation) {
    Map<String, String> contents = new TreeMap<>();
    String marker = ":g" + generation + ":";
    try (UnifiedJedis jedis = setup.valkey.connect()) {
      String cursor = ScanParams.SCAN_POINTER_START;
      ScanParams params = new ScanParams().match("tally:*" + marker + "*").count(1000);
      do {
        ScanResult<String> page = jedis.scan(cursor, params);
        for (String key : page.getResult()) {
          if (ViewKeys.reserved(key)) {
            // Completeness markers say when a warm-up ran, not what the log holds.
            continue;
          }
          String name = key.replace(marker, ":g*:");
          String type = jedis.type(key);
          contents.put(
              name,
              switch (type) {
                case "hash" -> new TreeMap<>(jedis.hgetAll(key)).toString();
                case "zset" -> jedis.zrangeWithScores(key, 0, -1).toString();
                default -> type;
              });
        }
        cursor = page.getCursor();
      } while (!cursor.equals(ScanParams.SCAN_POINTER_START));
    }
    assertThat(contents).as("generation " + generation + " in Valkey").isNotEmpty();
    return contents;
  }

  /** Every view_partial row of a generation but its write time, in key order. */
  private static List<String> postgresRows(ProjectionTestSetup setup, int generation)
      throws Exception {
    List<String> rows = new ArrayList<>();
    try (Connection connection = DriverManager.getConnection(setup.schema.jdbcUrl(), "tally", "");
        PreparedStatement query =
            connection.prepareStatement(
                "SELECT view, entry_key, writer, version, partial, fields::text, ops::text,"
                    + " rank_set, rank_member, rank_field FROM view_partial WHERE generation = ?"
                    + " ORDER BY view, entry_key, writer")) {
      query.setInt(1, generation);
      try (ResultSet result = query.executeQuery()) {
        while (result.next()) {
          StringBuilder row = new StringBuilder();
          for (int column = 1; column <= 10; column++) {
            row.append(result.getString(column)).append('|');
          }
          rows.add(row.toString());
        }
      }
    }
    assertThat(rows).as("generation " + generation + " in PostgreSQL").isNotEmpty();
    return rows;
  }
}
