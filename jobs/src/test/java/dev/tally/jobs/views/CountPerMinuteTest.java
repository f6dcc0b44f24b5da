package dev.tally.jobs.views;

import static dev.tally.jobs.TestEvents.T0;
import static dev.tally.jobs.TestEvents.USER_1;
import static dev.tally.jobs.TestEvents.checkIn;
import static org.assertj.core.api.Assertions.assertThat;

import dev.tally.common.views.ViewUpdate;
import dev.tally.jobs.decode.DeadLetter;
import dev.tally.jobs.decode.FoldEvent;
import java.time.Duration;
import java.time.Instant;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.ProcessFunctionTestHarnesses;
import org.junit.jupiter.api.Test;

class CountPerMinuteTest {

  private static final Duration LATENESS = Duration.ofSeconds(30);
  private static final ViewContext CONTEXT =
      new ViewContext(PointsRules.defaults(), LATENESS, "live", "p0");
  private static final String MINUTE_0 = "CHECKIN|2026-01-01T00:00:00Z";
  private static final Instant MINUTE_END = T0.plusSeconds(60);
  private static final Instant WITHIN_LATENESS = MINUTE_END.plusSeconds(10);
  private static final Instant MINUTE_CLOSED = MINUTE_END.plus(LATENESS);

  private static KeyedOneInputStreamOperatorTestHarness<String, FoldEvent, ViewUpdate> harness()
      throws Exception {
    return ProcessFunctionTestHarnesses.forKeyedProcessFunction(
        new CountPerMinute(CONTEXT),
        event -> ActivityView.entryKey(event.type, event.occurredAt),
        Types.STRING);
  }

  @Test
  void everyEventBumpsItsMinutesCountAndVersion() throws Exception {
    try (var harness = harness()) {
      harness.processWatermark(T0.toEpochMilli());
      harness.processElement(checkIn("e1", USER_1, T0.plusSeconds(1)), 0);
      harness.processElement(checkIn("e2", USER_1, T0.plusSeconds(59)), 0);
      harness.processElement(checkIn("e3", USER_1, T0.plusSeconds(61)), 0);

      assertThat(harness.extractOutputValues())
          .extracting(u -> u.key, u -> u.version, u -> u.partial, u -> u.writer)
          .containsExactly(
              org.assertj.core.groups.Tuple.tuple(MINUTE_0, 1L, "sum:count=1", "live/p0"),
              org.assertj.core.groups.Tuple.tuple(MINUTE_0, 2L, "sum:count=2", "live/p0"),
              org.assertj.core.groups.Tuple.tuple(
                  "CHECKIN|2026-01-01T00:01:00Z", 1L, "sum:count=1", "live/p0"));
    }
  }

  @Test
  void lateEventWithinTheAllowedLatenessUpdatesItsMinute() throws Exception {
    try (var harness = harness()) {
      harness.processWatermark(T0.toEpochMilli());
      harness.processElement(checkIn("e1", USER_1, T0.plusSeconds(1)), 0);
      harness.processWatermark(WITHIN_LATENESS.toEpochMilli());

      harness.processElement(checkIn("e2", USER_1, T0.plusSeconds(30)), 0);

      assertThat(harness.extractOutputValues()).extracting(u -> u.version).containsExactly(1L, 2L);
      assertThat(harness.getSideOutput(CountPerMinute.LATE)).isNull();
    }
  }

  @Test
  void closedMinuteClearsItsStateAndTimerAndLaterEventsAreDeadLettered() throws Exception {
    try (var harness = harness()) {
      harness.processWatermark(T0.toEpochMilli());
      harness.processElement(checkIn("e1", USER_1, T0.plusSeconds(1)), 0);
      assertThat(harness.numKeyedStateEntries()).isEqualTo(1);
      assertThat(harness.numEventTimeTimers()).isEqualTo(1);

      harness.processWatermark(MINUTE_CLOSED.toEpochMilli());
      assertThat(harness.numKeyedStateEntries())
          .as("count cleared when the minute closed")
          .isZero();
      assertThat(harness.numEventTimeTimers()).isZero();

      FoldEvent tooLate = checkIn("e2", USER_1, T0.plusSeconds(2));
      harness.processElement(tooLate, 0);

      assertThat(harness.extractOutputValues()).extracting(u -> u.version).containsExactly(1L);
      assertThat(harness.getSideOutput(CountPerMinute.LATE))
          .extracting(StreamRecord::getValue)
          .singleElement()
          .satisfies(
              (DeadLetter letter) -> {
                assertThat(letter.reason).isEqualTo("late");
                assertThat(letter.sourceTopic).isEqualTo(tooLate.topic);
                assertThat(letter.sourceOffset).isEqualTo(tooLate.offset);
                assertThat(letter.value).isEqualTo(tooLate.raw);
              });
      assertThat(harness.numKeyedStateEntries()).as("a refused event leaves no state").isZero();
    }
  }

  @Test
  void latenessSurvivesARestoreBeforeAnyNewWatermark() throws Exception {
    org.apache.flink.runtime.checkpoint.OperatorSubtaskState checkpoint;
    try (var harness = harness()) {
      harness.processWatermark(T0.toEpochMilli());
      harness.processElement(checkIn("e1", USER_1, T0.plusSeconds(1)), 0);
      harness.processWatermark(MINUTE_CLOSED.toEpochMilli());
      checkpoint = harness.snapshot(1, 1);
    }

    try (var restored =
        new KeyedOneInputStreamOperatorTestHarness<>(
            new org.apache.flink.streaming.api.operators.KeyedProcessOperator<>(
                new CountPerMinute(CONTEXT)),
            (FoldEvent event) -> ActivityView.entryKey(event.type, event.occurredAt),
            Types.STRING)) {
      restored.initializeState(checkpoint);
      restored.open();
      restored.processElement(checkIn("e2", USER_1, T0.plusSeconds(2)), 0);

      assertThat(restored.extractOutputValues())
          .as("no watermark yet, but the checkpointed one still rules")
          .isEmpty();
      assertThat(restored.getSideOutput(CountPerMinute.LATE)).hasSize(1);
    }
  }

  @Test
  void eventsBeforeAnyWatermarkAreHeldAndJudgedByTheFirstOne() throws Exception {
    try (var harness = harness()) {
      FoldEvent longAgo = checkIn("e-old", USER_1, T0.minusSeconds(600));
      harness.processElement(longAgo, 0);
      harness.processElement(checkIn("e-now", USER_1, T0.plusSeconds(1)), 0);
      assertThat(harness.extractOutputValues()).as("nothing judged without a watermark").isEmpty();
      assertThat(harness.getSideOutput(CountPerMinute.LATE)).isNull();

      harness.processWatermark(T0.plusSeconds(2).toEpochMilli());

      assertThat(harness.extractOutputValues())
          .extracting(u -> u.key, u -> u.version)
          .containsExactly(org.assertj.core.groups.Tuple.tuple(MINUTE_0, 1L));
      assertThat(harness.getSideOutput(CountPerMinute.LATE))
          .extracting(StreamRecord::getValue)
          .singleElement()
          .satisfies(
              (DeadLetter letter) -> assertThat(letter.sourceOffset).isEqualTo(longAgo.offset));
    }
  }
}
