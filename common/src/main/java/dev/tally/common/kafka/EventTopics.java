package dev.tally.common.kafka;

import dev.tally.common.events.Lane;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.config.TopicConfig;

/**
 * The topics of the event log: one per priority {@link Lane} and the dead-letter topic. They are
 * the source of truth, so they are never compacted and keep every record: {@code
 * cleanup.policy=delete} with unlimited retention. Records are stamped with the broker's append
 * time, which end-to-end latency and timestamp-based replay are measured against; event time is the
 * event's own {@code occurred_at}.
 */
public final class EventTopics {

  public static final String DEAD_LETTER = "events.dead-letter";

  /** Declared partitions per lane: the busiest lane gets the most. */
  public static final Map<Lane, Integer> LANE_PARTITIONS =
      Map.of(Lane.P0, 6, Lane.P1, 4, Lane.P2, 2);

  public static final int DEAD_LETTER_PARTITIONS = 2;

  private EventTopics() {}

  /** The dead-letter topic's name after {@code prefix}. */
  public static String deadLetter(String prefix) {
    return prefix + DEAD_LETTER;
  }

  /**
   * Every event-log topic.
   *
   * @param prefix prepended to every name ("" in production; tests isolate themselves with it)
   * @param replicationFactor 3 on a production cluster, 1 on a single broker
   * @param partitionsOverride when positive, every topic gets this many partitions instead of the
   *     declared ones
   */
  public static List<TopicSpec> specs(
      String prefix, short replicationFactor, int partitionsOverride) {
    Map<String, String> configs = new LinkedHashMap<>();
    configs.put(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_DELETE);
    configs.put(TopicConfig.RETENTION_MS_CONFIG, "-1");
    configs.put(TopicConfig.RETENTION_BYTES_CONFIG, "-1");
    configs.put(TopicConfig.MESSAGE_TIMESTAMP_TYPE_CONFIG, "LogAppendTime");
    // With acks=all, a write survives the loss of one replica once two have it.
    configs.put(TopicConfig.MIN_IN_SYNC_REPLICAS_CONFIG, replicationFactor >= 3 ? "2" : "1");

    List<TopicSpec> specs = new ArrayList<>();
    for (Lane lane : Lane.values()) {
      int partitions = partitionsOverride > 0 ? partitionsOverride : LANE_PARTITIONS.get(lane);
      specs.add(new TopicSpec(lane.topic(prefix), partitions, replicationFactor, configs));
    }
    int deadLetterPartitions = partitionsOverride > 0 ? partitionsOverride : DEAD_LETTER_PARTITIONS;
    specs.add(new TopicSpec(deadLetter(prefix), deadLetterPartitions, replicationFactor, configs));
    return specs;
  }
}
