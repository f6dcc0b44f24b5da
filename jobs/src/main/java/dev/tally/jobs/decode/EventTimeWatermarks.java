package dev.tally.jobs.decode;

import java.time.Duration;
import org.apache.flink.api.common.eventtime.Watermark;
import org.apache.flink.api.common.eventtime.WatermarkGenerator;
import org.apache.flink.api.common.eventtime.WatermarkOutput;

/**
 * Bounded-out-of-orderness watermarks per Kafka partition, emitted as soon as event time has moved
 * by {@code step} rather than only on the periodic tick. During a catch-up the source reads tens of
 * thousands of records between two ticks; without this, a whole tick's worth of records would be
 * judged against a stale watermark, and whether an event is late would depend on timing instead of
 * on the log. Dead letters carry no event time and never move the watermark.
 */
public final class EventTimeWatermarks implements WatermarkGenerator<SourceRecord> {

  private final long outOfOrdernessMs;
  private final long stepMs;
  private long maxTimestamp = Long.MIN_VALUE;
  private long emitted = Long.MIN_VALUE;

  public EventTimeWatermarks(Duration outOfOrderness, Duration step) {
    this.outOfOrdernessMs = outOfOrderness.toMillis();
    this.stepMs = Math.max(1, step.toMillis());
  }

  @Override
  public void onEvent(SourceRecord record, long eventTimestamp, WatermarkOutput output) {
    if (record.event == null) {
      return;
    }
    maxTimestamp = Math.max(maxTimestamp, record.event.occurredAt);
    long candidate = maxTimestamp - outOfOrdernessMs - 1;
    if (emitted == Long.MIN_VALUE || candidate - emitted >= stepMs) {
      emit(candidate, output);
    }
  }

  @Override
  public void onPeriodicEmit(WatermarkOutput output) {
    if (maxTimestamp != Long.MIN_VALUE) {
      emit(maxTimestamp - outOfOrdernessMs - 1, output);
    }
  }

  private void emit(long watermark, WatermarkOutput output) {
    if (watermark > emitted) {
      emitted = watermark;
      output.emitWatermark(new Watermark(watermark));
    }
  }
}
