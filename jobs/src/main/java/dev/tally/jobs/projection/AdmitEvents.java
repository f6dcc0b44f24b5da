package dev.tally.jobs.projection;

import dev.tally.jobs.decode.DeadLetter;
import dev.tally.jobs.decode.FoldEvent;
import dev.tally.jobs.decode.SourceRecord;
import dev.tally.jobs.views.View;
import dev.tally.jobs.views.ViewContext;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * The first step after a lane's source, chained to it: sends dead letters from decoding to {@link
 * #DEAD_LETTERS}, and asks every view whether it refuses each event, judged by the clock of the
 * event's partition where it was read — the greatest {@code occurred_at} before it in that
 * partition, less the allowed out-of-orderness. The answer travels with the event ({@code
 * refusals}); only a refused event keeps its original bytes (to be dead-lettered later unless it is
 * a duplicate).
 *
 * <p>Each partition's clock depends only on that partition's records, read in offset order by one
 * source subtask, so the decision is the same whatever the read speed, the parallelism or the
 * interleaving of partitions. The clocks are checkpointed (union list state: after a rescale every
 * subtask sees every partition's clock and keeps the greatest), so a restore judges re-read records
 * exactly as the first time.
 *
 * <p>Counts {@code tally.lane.<lane>.eventsIn} and {@code tally.reason.<reason>.deadLettered}.
 */
public final class AdmitEvents extends ProcessFunction<SourceRecord, FoldEvent>
    implements CheckpointedFunction {

  private static final long serialVersionUID = 1L;

  public static final OutputTag<DeadLetter> DEAD_LETTERS = new OutputTag<>("dead-letters") {};

  static final String CLOCKS_STATE = "partition-clocks";

  private final List<View> views;
  private final ViewContext context;
  private final long outOfOrdernessMs;

  /** Per partition, the greatest occurred_at read so far. */
  private transient PartitionClocks maxOccurredAt;

  private transient MetricGroup metrics;
  private transient Counter eventsIn;
  private transient Map<String, Counter> deadLettered;

  public AdmitEvents(List<View> views, ViewContext context, Duration outOfOrderness) {
    if (views.size() > Integer.SIZE) {
      throw new IllegalArgumentException("at most " + Integer.SIZE + " views per lane");
    }
    this.views = List.copyOf(views);
    this.context = context;
    this.outOfOrdernessMs = outOfOrderness.toMillis();
  }

  @Override
  public void initializeState(FunctionInitializationContext initialization) throws Exception {
    maxOccurredAt = new PartitionClocks();
    maxOccurredAt.initialize(
        initialization.getOperatorStateStore(), CLOCKS_STATE, initialization.isRestored());
  }

  @Override
  public void snapshotState(FunctionSnapshotContext snapshot) throws Exception {
    maxOccurredAt.snapshot();
  }

  @Override
  public void open(OpenContext openContext) {
    metrics = getRuntimeContext().getMetricGroup().addGroup("tally");
    eventsIn = metrics.addGroup("lane", context.lane()).counter("eventsIn");
    deadLettered = new HashMap<>();
  }

  @Override
  public void processElement(SourceRecord record, Context ctx, Collector<FoldEvent> out) {
    if (record.event == null) {
      DeadLetter letter = record.deadLetter;
      deadLettered
          .computeIfAbsent(
              letter.reason, reason -> metrics.addGroup("reason", reason).counter("deadLettered"))
          .inc();
      ctx.output(DEAD_LETTERS, letter);
      return;
    }
    FoldEvent event = record.event;
    eventsIn.inc();
    long clock = clock(event.partition);
    int refusals = 0;
    for (int i = 0; i < views.size(); i++) {
      View.Refusal refusal = views.get(i).refusal(event, clock, context);
      if (refusal != null) {
        if (refusals == 0) {
          event.refusalReason = refusal.reason();
          event.refusalError = refusal.error();
        }
        refusals |= 1 << i;
      }
    }
    event.refusals = refusals;
    if (refusals == 0) {
      // Not needed past this point: keep the shuffle small.
      event.raw = null;
      event.topic = null;
    }
    maxOccurredAt.advance(event.partition, event.occurredAt);
    out.collect(event);
  }

  /** A partition's clock before the next record: its greatest occurred_at less the disorder. */
  private long clock(int partition) {
    long max = maxOccurredAt.get(partition);
    return max == Long.MIN_VALUE ? Long.MIN_VALUE : max - outOfOrdernessMs;
  }
}
