package dev.tally.jobs.sinks;

import dev.tally.common.views.ViewUpdate;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.flink.api.common.operators.ProcessingTimeService.ProcessingTimeCallback;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;

/**
 * Keeps only the newest update per entry and writer for up to {@code interval}, then emits them:
 * PostgreSQL then sees one upsert per changed entry per interval instead of one per event. The
 * buffer is emitted before every checkpoint barrier, so it never needs to be in state and nothing
 * is lost on failure.
 */
public final class CoalesceLatest extends AbstractStreamOperator<ViewUpdate>
    implements OneInputStreamOperator<ViewUpdate, ViewUpdate>, ProcessingTimeCallback {

  private static final long serialVersionUID = 1L;

  private final long intervalMs;
  private transient Map<String, ViewUpdate> pending;

  public CoalesceLatest(Duration interval) {
    this.intervalMs = interval.toMillis();
  }

  @Override
  public void open() throws Exception {
    super.open();
    pending = new LinkedHashMap<>();
    scheduleNext();
  }

  @Override
  public void processElement(StreamRecord<ViewUpdate> element) {
    // Held across calls: copy, as the runtime may reuse the instance (pipeline.object-reuse).
    ViewUpdate update = element.getValue().copy();
    pending.merge(
        update.coalesceKey(), update, (held, next) -> next.version >= held.version ? next : held);
  }

  @Override
  public void onProcessingTime(long timestamp) {
    emitAll();
    scheduleNext();
  }

  @Override
  public void prepareSnapshotPreBarrier(long checkpointId) throws Exception {
    super.prepareSnapshotPreBarrier(checkpointId);
    emitAll();
  }

  @Override
  public void finish() throws Exception {
    emitAll();
    super.finish();
  }

  private void emitAll() {
    for (ViewUpdate update : pending.values()) {
      output.collect(new StreamRecord<>(update));
    }
    pending.clear();
  }

  private void scheduleNext() {
    getProcessingTimeService()
        .registerTimer(getProcessingTimeService().getCurrentProcessingTime() + intervalMs, this);
  }
}
