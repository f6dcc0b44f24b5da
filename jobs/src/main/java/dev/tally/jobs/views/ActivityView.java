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
    return type + "|" + Instant.ofEpochMilli(minuteStart(occurredAt));
  }

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
