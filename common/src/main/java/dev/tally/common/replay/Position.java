package dev.tally.common.replay;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.kafka.common.TopicPartition;

/**
 * A position in the event log, Kafka-style, as every replay command and the projection job accept
 * it (start and end alike):
 *
 * <ul>
 *   <li>{@code earliest}: the oldest retained offset of each partition;
 *   <li>{@code latest}: the end of each partition (the offset the next event will get);
 *   <li>{@code timestamp:<ISO-8601 or epoch ms>}: per partition, the first event appended at or
 *       after that time (Kafka's {@code offsetsForTimes}; the end where there is none);
 *   <li>{@code group:<group id>}: a consumer group's committed offsets;
 *   <li>{@code topic:partition:offset,…}: explicit offsets, naming every partition of each topic.
 * </ul>
 *
 * Parsing checks the form only; {@link PositionResolver} turns a position into offsets against the
 * broker and checks them (topics, partitions, retained range, time).
 */
public sealed interface Position {

  /** What {@link #parse} accepts, for error messages and help texts. */
  String FORMS =
      "earliest, latest, timestamp:<ISO-8601 or epoch ms>, group:<group id>,"
          + " topic:partition:offset[,topic:partition:offset…]";

  record Earliest() implements Position {
    @Override
    public String toString() {
      return "earliest";
    }
  }

  record Latest() implements Position {
    @Override
    public String toString() {
      return "latest";
    }
  }

  record Timestamp(Instant time) implements Position {
    @Override
    public String toString() {
      return "timestamp:" + time;
    }
  }

  record Group(String groupId) implements Position {
    @Override
    public String toString() {
      return "group:" + groupId;
    }
  }

  /** Explicit offsets, in the order given. */
  record Explicit(Map<TopicPartition, Long> offsets) implements Position {
    public Explicit {
      offsets = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(offsets));
    }

    @Override
    public String toString() {
      return format(offsets);
    }
  }

  /** The order partitions are listed in everywhere: by topic, then partition number. */
  java.util.Comparator<TopicPartition> PARTITION_ORDER =
      java.util.Comparator.comparing(TopicPartition::topic)
          .thenComparingInt(TopicPartition::partition);

  /** {@code topic:partition:offset,…}: the explicit form of offsets, by topic and partition. */
  static String format(Map<TopicPartition, Long> offsets) {
    StringBuilder text = new StringBuilder();
    Map<TopicPartition, Long> sorted = new java.util.TreeMap<>(PARTITION_ORDER);
    sorted.putAll(offsets);
    sorted.forEach(
        (partition, offset) -> {
          if (text.length() > 0) {
            text.append(',');
          }
          text.append(partition.topic())
              .append(':')
              .append(partition.partition())
              .append(':')
              .append(offset);
        });
    return text.toString();
  }

  /**
   * Parses one of {@link #FORMS}.
   *
   * @throws IllegalArgumentException naming what is wrong and what is accepted
   */
  static Position parse(String text) {
    if (text == null || text.isBlank()) {
      throw new IllegalArgumentException("empty position; accepted: " + FORMS);
    }
    String spec = text.trim();
    if (spec.equals("earliest")) {
      return new Earliest();
    }
    if (spec.equals("latest")) {
      return new Latest();
    }
    if (spec.startsWith("timestamp:")) {
      return new Timestamp(parseTime(spec.substring("timestamp:".length()), spec));
    }
    if (spec.startsWith("group:")) {
      String group = spec.substring("group:".length()).trim();
      if (group.isEmpty()) {
        throw new IllegalArgumentException("'" + spec + "' names no group; use group:<group id>");
      }
      return new Group(group);
    }
    return new Explicit(parseExplicit(spec));
  }

  private static Instant parseTime(String value, String spec) {
    String trimmed = value.trim();
    if (trimmed.matches("\\d{1,15}")) {
      return Instant.ofEpochMilli(Long.parseLong(trimmed));
    }
    try {
      return Instant.parse(trimmed);
    } catch (DateTimeParseException e) {
      throw new IllegalArgumentException(
          "'"
              + spec
              + "' is not a time; use timestamp:2026-01-01T00:05:00Z (ISO-8601, UTC offset"
              + " required) or timestamp:<epoch milliseconds>");
    }
  }

  private static Map<TopicPartition, Long> parseExplicit(String spec) {
    Map<TopicPartition, Long> offsets = new LinkedHashMap<>();
    for (String item : spec.split(",")) {
      String part = item.trim();
      // Topic names may hold dots and dashes but no colon: split from the right.
      int last = part.lastIndexOf(':');
      int middle = last <= 0 ? -1 : part.lastIndexOf(':', last - 1);
      if (middle <= 0) {
        throw new IllegalArgumentException("'" + part + "' is not a position; accepted: " + FORMS);
      }
      String topic = part.substring(0, middle);
      int partition;
      long offset;
      try {
        partition = Integer.parseInt(part.substring(middle + 1, last));
        offset = Long.parseLong(part.substring(last + 1));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(
            "'" + part + "': partition and offset must be whole numbers (topic:partition:offset)");
      }
      if (partition < 0 || offset < 0) {
        throw new IllegalArgumentException("'" + part + "': partition and offset must be >= 0");
      }
      TopicPartition key = new TopicPartition(topic, partition);
      if (offsets.put(key, offset) != null) {
        throw new IllegalArgumentException("'" + spec + "' names " + key + " twice");
      }
    }
    return offsets;
  }
}
