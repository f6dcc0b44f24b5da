package dev.tally.jobs.views;

import dev.tally.common.views.Partial;
import dev.tally.common.views.ViewUpdate;
import dev.tally.jobs.decode.DeadLetter;
import dev.tally.jobs.decode.FoldEvent;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.metrics.Counter;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.TimerService;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * Counts the events of one type and event-time minute (the key) and emits the count after each,
 * without waiting for the minute to close: the count is the version, so any re-emission after a
 * restart is harmless. The minute stays open until the watermark passes its end plus the allowed
 * lateness; then an event-time timer clears its state, and later events of that minute go to {@link
 * #LATE} (reason {@code late}).
 *
 * <p>Whether an event is late is only decided against a known watermark. Until the first one
 * arrives (a fresh job, or a restart before any checkpoint) events are held in state and judged
 * when it does, so a partition that starts reading early cannot sneak late events past a watermark
 * that does not exist yet. Flink does not checkpoint watermarks, so the watermark judged by is
 * checkpointed too (union list state: on restore, the lowest any subtask judged by) and serves as a
 * floor until the stream's own watermark passes it.
 */
public final class CountPerMinute extends KeyedProcessFunction<String, FoldEvent, ViewUpdate>
    implements CheckpointedFunction {

  private static final long serialVersionUID = 1L;

  public static final OutputTag<DeadLetter> LATE = new OutputTag<>("too-late") {};
  public static final String REASON = "late";

  private final ViewContext context;
  private transient ValueState<Long> count;
  private transient ListState<FoldEvent> held;
  private transient Counter lateCounter;
  private transient ListState<Long> checkpointedWatermark;
  private transient long watermarkFloor;
  private transient long judgedBy;

  public CountPerMinute(ViewContext context) {
    this.context = context;
  }

  @Override
  public void initializeState(FunctionInitializationContext initialization) throws Exception {
    checkpointedWatermark =
        initialization
            .getOperatorStateStore()
            .getUnionListState(new ListStateDescriptor<>("judged-by-watermark", Types.LONG));
    watermarkFloor = Long.MIN_VALUE;
    judgedBy = Long.MIN_VALUE;
    if (initialization.isRestored()) {
      long lowest = Long.MAX_VALUE;
      for (Long watermark : checkpointedWatermark.get()) {
        // A subtask that judged nothing yet (no key of its range had events) knows no watermark.
        if (watermark != Long.MIN_VALUE) {
          lowest = Math.min(lowest, watermark);
        }
      }
      watermarkFloor = lowest == Long.MAX_VALUE ? Long.MIN_VALUE : lowest;
      judgedBy = watermarkFloor;
    }
  }

  @Override
  public void snapshotState(FunctionSnapshotContext snapshot) throws Exception {
    checkpointedWatermark.update(List.of(judgedBy));
  }

  @Override
  public void open(OpenContext openContext) {
    count = getRuntimeContext().getState(new ValueStateDescriptor<>("count", Types.LONG));
    held =
        getRuntimeContext()
            .getListState(
                new ListStateDescriptor<>(
                    "held-until-watermark", TypeInformation.of(FoldEvent.class)));
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
    long watermark = watermark(ctx.timerService());
    if (watermark == Long.MIN_VALUE) {
      // No watermark yet: hold the event; the timer fires once the watermark reaches it.
      held.add(event);
      ctx.timerService().registerEventTimeTimer(event.occurredAt);
      return;
    }
    judge(event, watermark, ctx.getCurrentKey(), ctx.timerService(), out, ctx);
  }

  @Override
  public void onTimer(long timestamp, OnTimerContext ctx, Collector<ViewUpdate> out)
      throws Exception {
    long watermark = watermark(ctx.timerService());
    List<FoldEvent> waiting = new ArrayList<>();
    held.get().forEach(waiting::add);
    if (!waiting.isEmpty()) {
      held.clear();
      for (FoldEvent event : waiting) {
        judge(event, watermark, ctx.getCurrentKey(), ctx.timerService(), out, ctx);
      }
    }
    if (timestamp >= closesAt(ActivityView.minuteOfKey(ctx.getCurrentKey()))) {
      count.clear();
    }
  }

  private void judge(
      FoldEvent event,
      long watermark,
      String key,
      TimerService timers,
      Collector<ViewUpdate> out,
      Context ctx)
      throws Exception {
    long closesAt = closesAt(event.occurredAt);
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
              event.userId.getBytes(StandardCharsets.UTF_8),
              event.raw));
      return;
    }
    Long current = count.value();
    long next = (current == null ? 0 : current) + 1;
    if (current == null) {
      timers.registerEventTimeTimer(closesAt);
    }
    count.update(next);
    out.collect(
        new ViewUpdate(
            ActivityView.NAME,
            key,
            context.partialWriter(),
            next,
            Partial.builder().sum("count", next).build(),
            event.kafkaTimestamp));
  }

  /** The watermark to judge by: the stream's, or the checkpointed floor after a restore. */
  private long watermark(TimerService timers) {
    long watermark = Math.max(timers.currentWatermark(), watermarkFloor);
    judgedBy = Math.max(judgedBy, watermark);
    return watermark;
  }

  /** When an event's minute closes for good: its end plus the allowed lateness. */
  long closesAt(long occurredAt) {
    return ActivityView.minuteStart(occurredAt)
        + ActivityView.MINUTE_MS
        + context.allowedLateness().toMillis();
  }
}
