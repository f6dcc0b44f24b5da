package dev.tally.jobs.dedup;

import dev.tally.jobs.decode.FoldEvent;
import java.time.Duration;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.StateTtlConfig;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Lets each {@code event_id} through once. Keyed by user (a duplicate always carries its original's
 * user), with the ids seen in a map state whose entries expire after the dedup horizon: RocksDB
 * drops them in compaction, so the state stays bounded. Keying by user rather than by id keeps one
 * user's events in their Kafka order all the way into the user-keyed views, which makes each view
 * version denote the same state after any restart. Counts {@code tally.duplicatesDropped}.
 */
public final class DeduplicateByEventId extends KeyedProcessFunction<String, FoldEvent, FoldEvent> {

  private static final long serialVersionUID = 1L;

  public static final String STATE_NAME = "seen-event-ids";

  private final Duration horizon;
  private transient MapState<String, Boolean> seen;
  private transient Counter duplicates;

  /**
   * @param horizon how long an id is remembered (processing time)
   */
  public DeduplicateByEventId(Duration horizon) {
    this.horizon = horizon;
  }

  @Override
  public void open(OpenContext context) {
    MapStateDescriptor<String, Boolean> descriptor =
        new MapStateDescriptor<>(STATE_NAME, Types.STRING, Types.BOOLEAN);
    descriptor.enableTimeToLive(
        StateTtlConfig.newBuilder(horizon)
            .updateTtlOnCreateAndWrite()
            .neverReturnExpired()
            .cleanupInRocksdbCompactFilter(1000)
            // Savepoints (full snapshots) also leave expired ids out.
            .cleanupFullSnapshot()
            .build());
    seen = getRuntimeContext().getMapState(descriptor);
    duplicates =
        getRuntimeContext().getMetricGroup().addGroup("tally").counter("duplicatesDropped");
  }

  @Override
  public void processElement(FoldEvent event, Context context, Collector<FoldEvent> out)
      throws Exception {
    if (seen.contains(event.eventId)) {
      duplicates.inc();
      return;
    }
    seen.put(event.eventId, Boolean.TRUE);
    out.collect(event);
  }
}
