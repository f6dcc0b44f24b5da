package dev.tally.common.events;

import dev.tally.events.EventType;
import java.util.EnumMap;
import java.util.Map;

/**
 * Priority lanes: one Kafka topic each, so a backlog in a slow lane never delays a fast one. The
 * routing table below is the one place that says which event type goes where.
 */
public enum Lane {
  /** Interactive: check-ins, QR scans. Target: in the views within 100 ms. */
  P0("events.p0"),
  /** Tasks and orders. */
  P1("events.p1"),
  /** Daily bonuses: within seconds is fine. */
  P2("events.p2");

  private static final Map<EventType, Lane> ROUTING = new EnumMap<>(EventType.class);

  static {
    ROUTING.put(EventType.CHECKIN, P0);
    ROUTING.put(EventType.QR_SCAN, P0);
    ROUTING.put(EventType.TASK_COMPLETED, P1);
    ROUTING.put(EventType.PURCHASE, P1);
    ROUTING.put(EventType.DAILY_BONUS, P2);
  }

  private final String baseTopic;

  Lane(String baseTopic) {
    this.baseTopic = baseTopic;
  }

  /** The lane an event type travels in. */
  public static Lane of(EventType type) {
    Lane lane = ROUTING.get(type);
    if (lane == null) {
      throw new IllegalArgumentException("event type " + type + " has no lane");
    }
    return lane;
  }

  /** The lane's topic, e.g. {@code events.p0}, after an optional prefix (tests, tenants). */
  public String topic(String prefix) {
    return prefix + baseTopic;
  }

  /** Parses {@code p0}, {@code P1}, … as accepted on command lines. */
  public static Lane parse(String text) {
    for (Lane lane : values()) {
      if (lane.name().equalsIgnoreCase(text.trim())) {
        return lane;
      }
    }
    throw new IllegalArgumentException("unknown lane '" + text + "'; accepted: p0, p1, p2");
  }
}
