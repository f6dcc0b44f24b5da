package dev.tally.jobs.views;

import dev.tally.common.views.ViewUpdate;
import dev.tally.jobs.decode.FoldEvent;
import java.time.Instant;
import org.apache.flink.streaming.api.datastream.KeyedStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;

/**
 * {@code activity}: per event type per minute of event time, how many events. Entry key: {@code
 * <TYPE>|<minute start, ISO-8601>}, e.g. {@code CHECKIN|2026-01-01T00:05:00Z}; field {@code count}
 * (sum). An event whose minute closed more than the allowed lateness ago (by the watermark) is
 * refused and dead-lettered as {@code late}.
 */
public final class ActivityView implements View {

  private static final long serialVersionUID = 1L;

  public static final String NAME = "activity";
  public static final String UID = "view-activity";
  public static final long MINUTE_MS = 60_000;

  @Override
  public String name() {
    return NAME;
  }

  /** The entry key of an event's type and minute. */
  public static String entryKey(String type, long occurredAt) {
    return type + "|" + minuteText(minuteStart(occurredAt));
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
    String text = key.substring(key.indexOf('|') + 1);
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

  @Override
  public Output build(KeyedStream<FoldEvent, String> eventsByUser, ViewContext context) {
    SingleOutputStreamOperator<ViewUpdate> counts =
        eventsByUser
            .keyBy(event -> entryKey(event.type, event.occurredAt))
            .process(new CountPerMinute(context))
            .uid(context.uid(UID))
            .name(context.name(NAME));
    return new Output(counts, counts.getSideOutput(CountPerMinute.LATE));
  }
}
