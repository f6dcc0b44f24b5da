package dev.tally.jobs.decode;

import java.util.HashMap;
import java.util.Map;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * Sends decoded events on and dead letters to {@link #DEAD_LETTERS}, counting both: {@code
 * tally.eventsIn} per lane and {@code tally.deadLettered} per reason.
 */
public final class SplitDeadLetters extends ProcessFunction<SourceRecord, FoldEvent> {

  private static final long serialVersionUID = 1L;

  public static final OutputTag<DeadLetter> DEAD_LETTERS = new OutputTag<>("dead-letters") {};

  private transient MetricGroup metrics;
  private transient Map<String, Counter> eventsIn;
  private transient Map<String, Counter> deadLettered;

  @Override
  public void open(OpenContext context) {
    metrics = getRuntimeContext().getMetricGroup().addGroup("tally");
    eventsIn = new HashMap<>();
    deadLettered = new HashMap<>();
  }

  @Override
  public void processElement(SourceRecord record, Context context, Collector<FoldEvent> out) {
    if (record.event != null) {
      eventsIn
          .computeIfAbsent(
              record.event.lane, lane -> metrics.addGroup("lane", lane).counter("eventsIn"))
          .inc();
      out.collect(record.event);
    } else {
      deadLettered
          .computeIfAbsent(
              record.deadLetter.reason,
              reason -> metrics.addGroup("reason", reason).counter("deadLettered"))
          .inc();
      context.output(DEAD_LETTERS, record.deadLetter);
    }
  }
}
