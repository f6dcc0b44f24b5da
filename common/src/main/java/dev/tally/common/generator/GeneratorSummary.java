package dev.tally.common.generator;

import dev.tally.events.EventType;
import java.util.EnumMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * What a generator run produced, counted as it went: records by kind, new events by type, records
 * by topic. A consumer reading the topics back sees exactly these counts.
 */
public final class GeneratorSummary {

  private final Map<RecordKind, Long> byKind = new EnumMap<>(RecordKind.class);
  private final Map<EventType, Long> eventsByType = new EnumMap<>(EventType.class);
  private final Map<String, Long> byTopic = new TreeMap<>();
  private long records;

  void count(GeneratedRecord record) {
    records++;
    byKind.merge(record.kind(), 1L, Long::sum);
    byTopic.merge(record.topic(), 1L, Long::sum);
    if (record.kind().newEvent()) {
      eventsByType.merge(record.event().getType(), 1L, Long::sum);
    }
  }

  /** Every record produced. */
  public long records() {
    return records;
  }

  public long count(RecordKind kind) {
    return byKind.getOrDefault(kind, 0L);
  }

  /** Distinct events (each event_id once): on time, out of order and late. */
  public long distinctEvents() {
    return count(RecordKind.ON_TIME) + count(RecordKind.OUT_OF_ORDER) + count(RecordKind.LATE);
  }

  public long duplicates() {
    return count(RecordKind.DUPLICATE);
  }

  /** Records that are not valid events, whatever the way. */
  public long malformed() {
    return count(RecordKind.MALFORMED_RANDOM)
        + count(RecordKind.MALFORMED_TRUNCATED)
        + count(RecordKind.MALFORMED_UNKNOWN_SCHEMA);
  }

  public Map<RecordKind, Long> byKind() {
    return Map.copyOf(byKind);
  }

  public Map<EventType, Long> eventsByType() {
    return Map.copyOf(eventsByType);
  }

  public Map<String, Long> byTopic() {
    return Map.copyOf(byTopic);
  }

  /** A human-readable table, as {@code tally produce} prints it. */
  public String render() {
    StringBuilder out = new StringBuilder();
    out.append(String.format("records sent             %,12d%n", records));
    out.append(String.format("  distinct events        %,12d%n", distinctEvents()));
    for (RecordKind kind : RecordKind.values()) {
      out.append(String.format("    %-24s %,10d%n", kind.name().toLowerCase(), count(kind)));
    }
    out.append(String.format("  duplicates             %,12d%n", duplicates()));
    out.append(String.format("  malformed              %,12d%n", malformed()));
    out.append("distinct events by type\n");
    eventsByType.forEach(
        (type, n) -> out.append(String.format("    %-24s %,10d%n", type.name().toLowerCase(), n)));
    out.append("records by topic\n");
    byTopic.forEach((topic, n) -> out.append(String.format("    %-24s %,10d%n", topic, n)));
    return out.toString();
  }
}
