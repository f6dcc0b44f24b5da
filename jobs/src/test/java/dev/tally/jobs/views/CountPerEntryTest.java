package dev.tally.jobs.views;

import static dev.tally.jobs.TestEvents.T0;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.groups.Tuple.tuple;

import dev.tally.common.views.ViewUpdate;
import java.time.Duration;
import java.util.List;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.ProcessFunctionTestHarnesses;
import org.junit.jupiter.api.Test;

class CountPerEntryTest {

  private static final Duration LATENESS = Duration.ofSeconds(30);
  private static final ViewContext CONTEXT =
      new ViewContext(PointsRules.defaults(), LATENESS, "live", "p0");
  private static final String MINUTE_0 = "CHECKIN|2026-01-01T00:00:00Z";
  private static final long MINUTE_0_CLOSES = T0.plusSeconds(60).plus(LATENESS).toEpochMilli();

  private static KeyedOneInputStreamOperatorTestHarness<String, CountDelta, ViewUpdate> harness()
      throws Exception {
    return ProcessFunctionTestHarnesses.forKeyedProcessFunction(
        new CountPerEntry(List.of(new ActivityView()), CONTEXT), CountDelta::key, Types.STRING);
  }

  @Test
  void deltasAddUpAndTheCountIsTheVersion() throws Exception {
    try (var harness = harness()) {
      harness.processElement(new CountDelta(ActivityView.NAME, MINUTE_0, 3, 100), 0);
      harness.processElement(new CountDelta(ActivityView.NAME, MINUTE_0, 2, 200), 0);

      assertThat(harness.extractOutputValues())
          .extracting(u -> u.key, u -> u.version, u -> u.partial, u -> u.sourceTimestamp)
          .containsExactly(
              tuple(MINUTE_0, 3L, "sum:count=3", 100L), tuple(MINUTE_0, 5L, "sum:count=5", 200L));
    }
  }

  @Test
  void anEntrysStateAndTimerAreGoneOnceTheWatermarkPassesItsClose() throws Exception {
    try (var harness = harness()) {
      harness.processElement(new CountDelta(ActivityView.NAME, MINUTE_0, 3, 100), 0);
      assertThat(harness.numKeyedStateEntries()).isEqualTo(1);
      assertThat(harness.numEventTimeTimers()).isEqualTo(1);

      harness.processWatermark(MINUTE_0_CLOSES - 1);
      assertThat(harness.numKeyedStateEntries()).as("still open").isEqualTo(1);

      harness.processWatermark(MINUTE_0_CLOSES);
      assertThat(harness.numKeyedStateEntries()).isZero();
      assertThat(harness.numEventTimeTimers()).isZero();
    }
  }
}
