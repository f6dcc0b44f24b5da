package dev.tally.jobs.views;

import dev.tally.common.views.Partial;
import dev.tally.common.views.ViewUpdate;
import dev.tally.jobs.decode.DeadLetter;
import dev.tally.jobs.decode.FoldEvent;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * Counts the events of one type and event-time minute (the key) and emits the count after each,
 * without waiting for the minute to close: the count is the version, so any re-emission after a
 * restart is harmless. The minute stays open until the watermark passes its end plus the allowed
 * lateness; then an event-time timer clears its state, and later events of that minute go to {@link
 * #LATE} (reason {@code late}).
 */
public final class CountPerMinute extends KeyedProcessFunction<String, FoldEvent, ViewUpdate> {

  private static final long serialVersionUID = 1L;

  public static final OutputTag<DeadLetter> LATE = new OutputTag<>("too-late") {};
  public static final String REASON = "late";

  private final ViewContext context;
  private transient ValueState<Long> count;
  private transient Counter lateCounter;

  public CountPerMinute(ViewContext context) {
    this.context = context;
  }

  @Override
  public void open(OpenContext openContext) {
    count = getRuntimeContext().getState(new ValueStateDescriptor<>("count", Types.LONG));
    lateCounter =
        getRuntimeContext()
            .getMetricGroup()
            .addGroup("tally")
            .addGroup("reason", REASON)
            .counter("deadLettered");
  }

  @Override
  public void processElement(FoldEvent event, Context ctx, Collector<ViewUpdate> out)
      throws Exception {
    long closesAt = closesAt(event.occurredAt);
    long watermark = ctx.timerService().currentWatermark();
    if (closesAt <= watermark) {
      lateCounter.inc();
      ctx.output(
          LATE,
          new DeadLetter(
              REASON,
              "occurred_at "
                  + event.occurredAt
                  + " is in a minute closed at "
                  + closesAt
                  + " (end + allowed lateness "
                  + context.allowedLateness()
                  + "); watermark "
                  + watermark,
              event.topic,
              event.partition,
              event.offset,
              event.kafkaTimestamp,
              event.userId.getBytes(java.nio.charset.StandardCharsets.UTF_8),
              event.raw));
      return;
    }
    Long current = count.value();
    long next = (current == null ? 0 : current) + 1;
    if (current == null) {
      ctx.timerService().registerEventTimeTimer(closesAt);
    }
    count.update(next);
    out.collect(
        new ViewUpdate(
            ActivityView.NAME,
            ctx.getCurrentKey(),
            context.partialWriter(),
            next,
            Partial.builder().sum("count", next).build(),
            event.kafkaTimestamp));
  }

  @Override
  public void onTimer(long timestamp, OnTimerContext ctx, Collector<ViewUpdate> out) {
    count.clear();
  }

  /** When an event's minute closes for good: its end plus the allowed lateness. */
  long closesAt(long occurredAt) {
    return ActivityView.minuteStart(occurredAt)
        + ActivityView.MINUTE_MS
        + context.allowedLateness().toMillis();
  }
}
