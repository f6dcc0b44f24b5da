package dev.tally.jobs.views;

import dev.tally.common.views.Partial;
import dev.tally.common.views.ViewCatalog;
import dev.tally.common.views.ViewUpdate;
import dev.tally.jobs.decode.FoldEvent;
import java.time.Instant;

/**
 * {@code activity}: per event type per minute of event time, how many events. Entry key: {@code
 * <TYPE>|<minute start, ISO-8601>}, e.g. {@code CHECKIN|2026-01-01T00:05:00Z}; field {@code count}
 * (sum).
 *
 * <p>An event is refused (dead-lettered as {@code late}) when its minute had closed where it was
 * read: when the minute's end plus the allowed lateness is at or before its partition's clock (the
 * greatest {@code occurred_at} read before it in that partition, less the allowed
 * out-of-orderness). That depends only on the partition's records up to the event, so a live job, a
 * catch-up and a rebuild at any speed or parallelism refuse the same events.
 */
public final class ActivityView implements CountView {

  private static final long serialVersionUID = 1L;

  public static final String NAME = ViewCatalog.ACTIVITY.id();
  public static final String REASON = "late";
  public static final long MINUTE_MS = 60_000;

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public String entryKey(FoldEvent event) {
    return entryKey(event.type.name(), event.occurredAt);
  }

  @Override
  public Refusal refusal(FoldEvent event, long partitionClock, ViewContext context) {
    long closesAt = closesAt(event.occurredAt, context);
    if (closesAt > partitionClock) {
      return null;
    }
    return new Refusal(
        REASON,
        "occurred_at "
            + event.occurredAt
            + " is in a minute closed at "
            + closesAt
            + " (end + allowed lateness "
            + context.allowedLateness()
            + "); partition clock "
            + partitionClock);
  }

  @Override
  public long closesAt(String entryKey, ViewContext context) {
    return closesAt(minuteOfKey(entryKey), context);
  }

  /** When an event's minute closes for good: its end plus the allowed lateness. */
  static long closesAt(long occurredAt, ViewContext context) {
    return minuteStart(occurredAt) + MINUTE_MS + context.allowedLateness().toMillis();
  }

  @Override
  public ViewUpdate update(String entryKey, long count, ViewContext context) {
    return new ViewUpdate(
        NAME, entryKey, context.partialWriter(), count, Partial.builder().sum("count", count), 0);
  }

  /** The entry key of an event's type and minute. */
  public static String entryKey(String type, long occurredAt) {
    return ViewCatalog.activityKey(type, minuteText(minuteStart(occurredAt)));
  }

  /**
   * The ISO-8601 text of a minute start. Runs for every event (the key selector), so the texts of
   * recent minutes are cached: formatting an {@link Instant} costs more than the rest of the key.
   */
  static String minuteText(long minuteStart) {
    int slot = (int) Math.floorMod(minuteStart / MINUTE_MS, (long) MINUTE_TEXTS.length());
    Minute cached = MINUTE_TEXTS.get(slot);
    if (cached == null || cached.start != minuteStart) {
      cached = new Minute(minuteStart, Instant.ofEpochMilli(minuteStart).toString());
      MINUTE_TEXTS.set(slot, cached);
    }
    return cached.text;
  }

  /** The minute start a key's ISO-8601 part names (inverse of {@link #entryKey}). */
  public static long minuteOfKey(String key) {
    String text = ViewCatalog.activityMinute(key);
    long guess = minuteGuess(text);
    if (guess != Long.MIN_VALUE && minuteText(guess).equals(text)) {
      return guess;
    }
    return Instant.parse(text).toEpochMilli();
  }

  /** {@code yyyy-MM-ddTHH:mm:00Z} read by position; MIN_VALUE when the text has another shape. */
  private static long minuteGuess(String text) {
    if (text.length() != 20 || !text.endsWith(":00Z")) {
      return Long.MIN_VALUE;
    }
    try {
      return java.time.LocalDateTime.of(
                  Integer.parseInt(text, 0, 4, 10),
                  Integer.parseInt(text, 5, 7, 10),
                  Integer.parseInt(text, 8, 10, 10),
                  Integer.parseInt(text, 11, 13, 10),
                  Integer.parseInt(text, 14, 16, 10))
              .toEpochSecond(java.time.ZoneOffset.UTC)
          * 1000;
    } catch (RuntimeException notThatShape) {
      return Long.MIN_VALUE;
    }
  }

  private record Minute(long start, String text) {}

  // Immutable entries in a fixed table: safe to share between the tasks of one JVM.
  private static final java.util.concurrent.atomic.AtomicReferenceArray<Minute> MINUTE_TEXTS =
      new java.util.concurrent.atomic.AtomicReferenceArray<>(4096);

  public static long minuteStart(long occurredAt) {
    return Math.floorDiv(occurredAt, MINUTE_MS) * MINUTE_MS;
  }
}
