package dev.tally.common.replay;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.apache.kafka.common.TopicPartition;

/**
 * The checks {@link PositionResolver} makes of resolved offsets against what the topics retain: an
 * explicit position names every partition read and no other, and no offset lies outside a
 * partition's retained range. Each refusal names the partition and what is accepted.
 */
final class RetainedOffsets {

  private RetainedOffsets() {}

  /**
   * The offsets an explicit position names, refused unless it names exactly the partitions read.
   */
  static Map<TopicPartition, Long> explicit(
      Position.Explicit explicit,
      Map<TopicPartition, PositionResolver.Retained> retained,
      String role) {
    Map<TopicPartition, Long> offsets = new TreeMap<>(Position.PARTITION_ORDER);
    Set<String> topics =
        retained.keySet().stream().map(TopicPartition::topic).collect(Collectors.toSet());
    for (Map.Entry<TopicPartition, Long> given : explicit.offsets().entrySet()) {
      TopicPartition partition = given.getKey();
      if (!topics.contains(partition.topic())) {
        throw new IllegalArgumentException(
            role
                + " names topic '"
                + partition.topic()
                + "', which is not read here; topics read: "
                + String.join(", ", new TreeSet<>(topics)));
      }
      if (!retained.containsKey(partition)) {
        long partitions =
            retained.keySet().stream().filter(p -> p.topic().equals(partition.topic())).count();
        throw new IllegalArgumentException(
            role
                + " names "
                + PositionResolver.name(partition)
                + ", but "
                + partition.topic()
                + " has partitions 0.."
                + (partitions - 1));
      }
      offsets.put(partition, given.getValue());
    }
    List<String> missing =
        retained.keySet().stream()
            .filter(partition -> !offsets.containsKey(partition))
            .map(PositionResolver::name)
            .toList();
    if (!missing.isEmpty()) {
      throw new IllegalArgumentException(
          role
              + " "
              + explicit
              + " does not name "
              + String.join(", ", missing)
              + "; explicit positions name every partition read (topic:partition:offset,…)");
    }
    return offsets;
  }

  /** Refuses an offset outside its partition's retained range {@code [earliest, end]}. */
  static void requireRetained(
      Position position,
      Map<TopicPartition, Long> offsets,
      Map<TopicPartition, PositionResolver.Retained> retained,
      String role) {
    offsets.forEach(
        (partition, offset) -> {
          PositionResolver.Retained range = retained.get(partition);
          if (offset < range.earliest() || offset > range.end()) {
            throw new IllegalArgumentException(
                role
                    + " "
                    + position
                    + ": offset "
                    + offset
                    + " of "
                    + PositionResolver.name(partition)
                    + " is outside the retained range "
                    + range.earliest()
                    + ".."
                    + range.end()
                    + " (earliest..end)");
          }
        });
  }
}
