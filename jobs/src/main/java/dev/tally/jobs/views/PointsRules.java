package dev.tally.jobs.views;

import dev.tally.events.EventType;
import dev.tally.jobs.decode.FoldEvent;
import java.io.Serializable;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The one rule table that says what each event type is worth. A task's own {@code points}, when its
 * payload carries them, override the table.
 */
public final class PointsRules implements Serializable {

  private static final long serialVersionUID = 1L;

  public static final String DEFAULT =
      "CHECKIN=10,QR_SCAN=25,TASK_COMPLETED=50,DAILY_BONUS=100,PURCHASE=20";

  private final Map<EventType, Long> points;

  private PointsRules(Map<EventType, Long> points) {
    this.points = points;
  }

  /**
   * Parses {@code TYPE=points,…}; every type but UNKNOWN must be given.
   *
   * @throws IllegalArgumentException naming the bad entry and what is accepted
   */
  public static PointsRules parse(String table) {
    Map<EventType, Long> points = new EnumMap<>(EventType.class);
    for (String entry : table.split(",")) {
      String[] parts = entry.trim().split("=");
      if (parts.length != 2) {
        throw new IllegalArgumentException(
            "points rule '" + entry + "' is not TYPE=points, e.g. CHECKIN=10");
      }
      EventType type;
      try {
        type = EventType.valueOf(parts[0].trim().toUpperCase());
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            "points rule '" + entry + "': unknown type; accepted: " + knownTypes());
      }
      try {
        // The range of a task's own points (an Avro int): docs/views.md, numbers.
        points.put(type, (long) Integer.parseInt(parts[1].trim()));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(
            "points rule '"
                + entry
                + "': points must be a whole number from "
                + Integer.MIN_VALUE
                + " to "
                + Integer.MAX_VALUE);
      }
    }
    for (EventType type : EventType.values()) {
      if (type != EventType.UNKNOWN && !points.containsKey(type)) {
        throw new IllegalArgumentException(
            "points rules miss " + type + "; give every type: " + knownTypes());
      }
    }
    return new PointsRules(points);
  }

  public static PointsRules defaults() {
    return parse(DEFAULT);
  }

  /** What an event is worth. */
  public long pointsFor(FoldEvent event) {
    if (event.payloadPoints != null) {
      return event.payloadPoints;
    }
    return points.getOrDefault(event.type, 0L);
  }

  private static String knownTypes() {
    return Arrays.stream(EventType.values())
        .filter(t -> t != EventType.UNKNOWN)
        .map(Enum::name)
        .collect(Collectors.joining(", "));
  }

  @Override
  public String toString() {
    return points.entrySet().stream()
        .map(e -> e.getKey() + "=" + e.getValue())
        .collect(Collectors.joining(","));
  }
}
