package dev.tally.common.kafka;

import java.util.Map;

/**
 * A topic as Tally declares it: name, partitions, replication and the configs it must have.
 *
 * @param configs topic configs Tally owns on this topic; others are left as they are
 */
public record TopicSpec(
    String name, int partitions, short replicationFactor, Map<String, String> configs) {
  public TopicSpec {
    if (name == null || name.isBlank()) {
      throw new IllegalArgumentException("topic name is empty");
    }
    if (partitions < 1) {
      throw new IllegalArgumentException(
          "topic " + name + ": partitions must be at least 1, got " + partitions);
    }
    if (replicationFactor < 1) {
      throw new IllegalArgumentException(
          "topic " + name + ": replication factor must be at least 1, got " + replicationFactor);
    }
    configs = Map.copyOf(configs);
  }
}
