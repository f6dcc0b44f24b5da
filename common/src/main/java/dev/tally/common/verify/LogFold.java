package dev.tally.common.verify;

import dev.tally.common.events.EventCodec;
import dev.tally.common.events.EventDecodingException;
import dev.tally.common.events.Lane;
import dev.tally.common.views.ViewCatalog;
import dev.tally.events.Event;
import dev.tally.events.EventType;
import dev.tally.events.TaskCompleted;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * An independent fold of the log: reads the lane topics from their start to their end now, and
 * applies the documented rules (docs/guarantees.md §7, docs/events.md, docs/views.md) with code of
 * its own — not the projection's operators — so its result can judge the job's. Same rules, written
 * twice: decode and validate, the event-time lead, lateness by each partition's clock, dedup per
 * lane and user by first append time within the horizon, points from the rule table or the task.
 */
public final class LogFold {

  /** The rules, as the projection job's options of the same names. */
  public record Rules(
      Duration dedupHorizon,
      Duration maxOutOfOrderness,
      Duration allowedLateness,
      Duration maxEventLead,
      Map<EventType, Long> points) {

    /** The job's defaults. */
    public static Rules defaults() {
      return new Rules(
          Duration.ofDays(7),
          Duration.ofSeconds(10),
          Duration.ofSeconds(60),
          Duration.ofMinutes(1),
          Map.of(
              EventType.CHECKIN, 10L,
              EventType.QR_SCAN, 25L,
              EventType.TASK_COMPLETED, 50L,
              EventType.DAILY_BONUS, 100L,
              EventType.PURCHASE, 20L));
    }
  }

  /**
   * What the log says the views and the dead-letter topic hold.
   *
   * @param views view → entry key → field → value, merged over lanes as the stores serve them
   * @param deadLetters {@code topic/partition/offset} → reason
   */
  public record Result(
      Map<String, Map<String, Map<String, Long>>> views,
      Map<String, String> deadLetters,
      long records,
      long counted,
      long duplicates) {}

  private final Rules rules;
  private final EventCodec codec = new EventCodec();
  private final Map<String, Map<String, Map<String, Long>>> views = new TreeMap<>();
  private final Map<String, String> deadLetters = new HashMap<>();
  private final Map<String, Long> seen = new HashMap<>();
  private final Map<TopicPartition, Long> maxOccurredAt = new HashMap<>();
  private long records;
  private long counted;
  private long duplicates;

  private LogFold(Rules rules) {
    this.rules = rules;
    for (String view : ViewCatalog.ids()) {
      views.put(view, new TreeMap<>());
    }
  }

  /** Folds the lanes' topics as they are now (from the earliest retained offset to the end). */
  public static Result fold(
      String bootstrapServers,
      Map<String, String> kafkaProperties,
      String topicPrefix,
      List<Lane> lanes,
      Rules rules) {
    LogFold fold = new LogFold(rules);
    Properties properties = new Properties();
    properties.putAll(kafkaProperties);
    properties.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    properties.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    properties.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "5000");
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(properties, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      for (Lane lane : lanes) {
        String topic = lane.topic(topicPrefix);
        List<TopicPartition> partitions = new ArrayList<>();
        List<PartitionInfo> infos = consumer.partitionsFor(topic, Duration.ofSeconds(30));
        if (infos == null || infos.isEmpty()) {
          throw new IllegalArgumentException("topic " + topic + " does not exist");
        }
        infos.forEach(info -> partitions.add(new TopicPartition(topic, info.partition())));
        // Partition by partition, in offset order: the rules depend only on that order.
        for (TopicPartition partition : partitions) {
          fold.readPartition(consumer, lane, partition);
        }
      }
    }
    return new Result(fold.views, fold.deadLetters, fold.records, fold.counted, fold.duplicates);
  }

  private void readPartition(KafkaConsumer<byte[], byte[]> consumer, Lane lane, TopicPartition tp) {
    long end = consumer.endOffsets(List.of(tp)).get(tp);
    consumer.assign(List.of(tp));
    consumer.seekToBeginning(List.of(tp));
    long position = consumer.position(tp);
    while (position < end) {
      for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(500))) {
        if (record.offset() < end) {
          judge(lane, tp, record);
        }
      }
      position = consumer.position(tp);
    }
  }

  private void judge(Lane lane, TopicPartition tp, ConsumerRecord<byte[], byte[]> record) {
    records++;
    String coordinates = record.topic() + "/" + record.partition() + "/" + record.offset();
    Event event;
    try {
      event = codec.decode(record.value());
    } catch (EventDecodingException e) {
      deadLetters.put(coordinates, e.reason().code());
      return;
    }
    long occurredAt = event.getOccurredAt().toEpochMilli();
    if (record.timestamp() >= 0
        && occurredAt - record.timestamp() > rules.maxEventLead().toMillis()) {
      deadLetters.put(coordinates, "invalid");
      return;
    }
    // Late: the minute closed (end + allowed lateness) at or before the partition's clock, the
    // greatest occurred_at before this record less the disorder.
    Long max = maxOccurredAt.get(tp);
    long minuteStart = Math.floorDiv(occurredAt, 60_000L) * 60_000L;
    boolean late =
        max != null
            && minuteStart + 60_000L + rules.allowedLateness().toMillis()
                <= max - rules.maxOutOfOrderness().toMillis();
    maxOccurredAt.merge(tp, occurredAt, Math::max);

    String seenKey = lane + "\u0000" + event.getUserId() + "\u0000" + event.getEventId();
    Long firstSeen = seen.get(seenKey);
    if (firstSeen != null && record.timestamp() - firstSeen < rules.dedupHorizon().toMillis()) {
      duplicates++;
      return;
    }
    seen.put(seenKey, record.timestamp());
    counted++;

    long points =
        event.getPayload() instanceof TaskCompleted task && task.getPoints() != null
            ? task.getPoints()
            : rules.points().getOrDefault(event.getType(), 0L);
    Map<String, Long> score =
        views
            .get(ViewCatalog.USER_SCORE.id())
            .computeIfAbsent(event.getUserId(), k -> new TreeMap<>());
    score.merge("points", points, Long::sum);
    score.merge("events", 1L, Long::sum);
    score.merge("last_activity_ms", occurredAt, Math::max);
    if (event.getHuntId() != null) {
      Map<String, Long> standing =
          views
              .get(ViewCatalog.LEADERBOARD.id())
              .computeIfAbsent(
                  ViewCatalog.leaderboardKey(event.getHuntId(), event.getUserId()),
                  k -> new TreeMap<>());
      standing.merge("points", points, Long::sum);
      standing.merge("events", 1L, Long::sum);
    }
    if (late) {
      deadLetters.put(coordinates, "late");
    } else {
      views
          .get(ViewCatalog.ACTIVITY.id())
          .computeIfAbsent(
              ViewCatalog.activityKey(
                  event.getType().name(), Instant.ofEpochMilli(minuteStart).toString()),
              k -> new TreeMap<>())
          .merge("count", 1L, Long::sum);
    }
  }
}
