package dev.tally.jobs.views;

import dev.tally.common.views.ViewUpdate;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Adds up the deltas of every {@link CountView} entry (keyed by view and entry) and writes the
 * count after each delta, without waiting for the entry to close: the count is the version, so any
 * re-emission after a restart is harmless. Once the watermark passes the entry's {@link
 * CountView#closesAt}, an event-time timer drops its state: from then on the views refuse every
 * event of the entry before it is counted, so no delta can follow.
 *
 * <p>Counts {@code tally.countsAfterClose}: deltas that arrived for an entry already dropped, which
 * only a partition added to a running topic (its clock starts afresh) can cause.
 */
public final class CountPerEntry extends KeyedProcessFunction<String, CountDelta, ViewUpdate> {

  private static final long serialVersionUID = 1L;

  static final String STATE_NAME = "count";

  private final List<CountView> views;
  private final ViewContext context;
  private transient Map<String, CountView> byName;
  private transient ValueState<Long> count;
  private transient Counter afterClose;

  public CountPerEntry(List<CountView> views, ViewContext context) {
    this.views = List.copyOf(views);
    this.context = context;
  }

  @Override
  public void open(OpenContext openContext) {
    byName = new HashMap<>();
    views.forEach(view -> byName.put(view.name(), view));
    count = getRuntimeContext().getState(new ValueStateDescriptor<>(STATE_NAME, Types.LONG));
    afterClose = getRuntimeContext().getMetricGroup().addGroup("tally").counter("countsAfterClose");
  }

  @Override
  public void processElement(CountDelta delta, Context ctx, Collector<ViewUpdate> out)
      throws Exception {
    CountView view = byName.get(delta.view);
    if (view == null) {
      throw new IllegalStateException("no count view named " + delta.view);
    }
    Long current = count.value();
    if (current == null) {
      long closesAt = view.closesAt(delta.entryKey, context);
      if (closesAt <= ctx.timerService().currentWatermark()) {
        afterClose.inc();
      }
      ctx.timerService().registerEventTimeTimer(closesAt);
    }
    long next = (current == null ? 0 : current) + delta.count;
    count.update(next);
    ViewUpdate update = view.update(delta.entryKey, next, context);
    update.sourceTimestamp = delta.sourceTimestamp;
    out.collect(update);
  }

  @Override
  public void onTimer(long timestamp, OnTimerContext ctx, Collector<ViewUpdate> out) {
    count.clear();
  }
}
