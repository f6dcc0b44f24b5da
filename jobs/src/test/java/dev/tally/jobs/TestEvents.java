package dev.tally.jobs;

import dev.tally.events.EventType;
import dev.tally.jobs.decode.FoldEvent;
import java.time.Instant;

/** Named fixtures for operator tests. */
public final class TestEvents {

  public static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
  public static final String USER_1 = "user-1";
  public static final String USER_2 = "user-2";
  public static final String HUNT_1 = "hunt-1";

  private TestEvents() {}

  public static FoldEvent event(
      String id, String type, String user, String hunt, Instant occurredAt) {
    FoldEvent event = new FoldEvent();
    event.eventId = id;
    event.type = EventType.valueOf(type);
    event.userId = user;
    event.huntId = hunt;
    event.occurredAt = occurredAt.toEpochMilli();
    event.topic = "events.p0";
    event.partition = 0;
    event.offset = id.hashCode() & 0xffff;
    event.appendTime = occurredAt.toEpochMilli();
    event.raw = id.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    return event;
  }

  public static FoldEvent checkIn(String id, String user, Instant occurredAt) {
    return event(id, "CHECKIN", user, HUNT_1, occurredAt);
  }
}
