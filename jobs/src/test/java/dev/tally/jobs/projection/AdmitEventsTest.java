package dev.tally.jobs.projection;

import static dev.tally.jobs.TestEvents.T0;
import static dev.tally.jobs.TestEvents.USER_1;
import static dev.tally.jobs.TestEvents.checkIn;
import static org.assertj.core.api.Assertions.assertThat;

import dev.tally.jobs.decode.DeadLetter;
import dev.tally.jobs.decode.FoldEvent;
import dev.tally.jobs.decode.SourceRecord;
import dev.tally.jobs.views.ActivityView;
import dev.tally.jobs.views.PointsRules;
import dev.tally.jobs.views.ViewContext;
import dev.tally.jobs.views.Views;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.api.operators.ProcessOperator;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;

/** The admission step: dead letters aside, lateness judged by each partition's own clock. */
class AdmitEventsTest {

  private static final Duration LATENESS = Duration.ofSeconds(30);
  private static final Duration DISORDER = Duration.ofSeconds(10);
  private static final ViewContext CONTEXT =
      new ViewContext(PointsRules.defaults(), LATENESS, "live", "p0");
  private static final int ACTIVITY_BIT = 1 << ProjectLaneTest.position(ActivityView.NAME);

  /** Minute 0 closes at 00:01:30 (end + lateness); a partition's clock is its max less 10 s. */
  private static final Instant IN_MINUTE_0 = T0.plusSeconds(20);

  private static final Instant CLOCK_AT_CLOSE = T0.plusSeconds(90).plus(DISORDER);

  private static OneInputStreamOperatorTestHarness<SourceRecord, FoldEvent> harness()
      throws Exception {
    return new OneInputStreamOperatorTestHarness<>(
        new ProcessOperator<>(new AdmitEvents(Views.all(), CONTEXT, DISORDER)));
  }

  private static SourceRecord at(String id, int partition, Instant occurredAt) {
    FoldEvent event = checkIn(id, USER_1, occurredAt);
    event.partition = partition;
    return SourceRecord.of(event);
  }

  private static List<FoldEvent> admitted(
      OneInputStreamOperatorTestHarness<SourceRecord, FoldEvent> harness) {
    return harness.extractOutputValues();
  }

  private static boolean refusedByActivity(FoldEvent event) {
    return (event.refusals & ACTIVITY_BIT) != 0;
  }

  @Test
  void deadLettersFromDecodingGoAsideAndEventsGoOn() throws Exception {
    try (var harness = harness()) {
      harness.open();
      DeadLetter corrupt =
          new DeadLetter("corrupt", "truncated", "events.p0", 0, 7, 1, null, new byte[] {9});
      harness.processElement(SourceRecord.of(corrupt), 0);
      harness.processElement(at("e1", 0, T0), 0);

      List<DeadLetter> letters = new ArrayList<>();
      harness.getSideOutput(AdmitEvents.DEAD_LETTERS).forEach(r -> letters.add(r.getValue()));
      assertThat(letters)
          .extracting(d -> d.reason, d -> d.sourceOffset, d -> d.value)
          .containsExactly(org.assertj.core.groups.Tuple.tuple("corrupt", 7L, new byte[] {9}));
      assertThat(admitted(harness)).extracting(e -> e.eventId).containsExactly("e1");
    }
  }

  @Test
  void lateIsJudgedByTheClockOfTheEventsOwnPartition() throws Exception {
    try (var harness = harness()) {
      harness.open();
      harness.processElement(at("first", 0, IN_MINUTE_0), 0);
      harness.processElement(at("ahead", 0, CLOCK_AT_CLOSE), 0);
      // Partition 1 has read nothing this far: the same event is on time there.
      harness.processElement(at("slow-partition", 1, IN_MINUTE_0), 0);
      harness.processElement(at("fast-partition", 0, IN_MINUTE_0), 0);

      assertThat(admitted(harness))
          .extracting(e -> e.eventId, AdmitEventsTest::refusedByActivity)
          .containsExactly(
              org.assertj.core.groups.Tuple.tuple("first", false),
              org.assertj.core.groups.Tuple.tuple("ahead", false),
              org.assertj.core.groups.Tuple.tuple("slow-partition", false),
              org.assertj.core.groups.Tuple.tuple("fast-partition", true));
      FoldEvent refused = admitted(harness).get(3);
      assertThat(refused.refusalReason).isEqualTo("late");
      assertThat(refused.raw).as("kept to be dead-lettered").isNotNull();
      assertThat(admitted(harness).get(2).raw).as("dropped for the shuffle").isNull();
    }
  }

  @Test
  void justBeforeItsMinuteClosesByThePartitionClockAnEventStillCounts() throws Exception {
    try (var harness = harness()) {
      harness.open();
      harness.processElement(at("ahead", 0, CLOCK_AT_CLOSE.minusMillis(1)), 0);
      harness.processElement(at("just-in-time", 0, IN_MINUTE_0), 0);

      assertThat(admitted(harness)).noneMatch(AdmitEventsTest::refusedByActivity);
    }
  }

  @Test
  void partitionClocksSurviveARestoreSoReReadRecordsAreJudgedAsBefore() throws Exception {
    OperatorSubtaskState snapshot;
    try (var harness = harness()) {
      harness.open();
      harness.processElement(at("ahead", 0, CLOCK_AT_CLOSE), 0);
      snapshot = harness.snapshot(1, 1);
    }
    try (var restored = harness()) {
      restored.initializeState(snapshot);
      restored.open();
      restored.processElement(at("re-read", 0, IN_MINUTE_0), 0);
      restored.processElement(at("other-partition", 1, IN_MINUTE_0), 0);

      assertThat(admitted(restored))
          .extracting(AdmitEventsTest::refusedByActivity)
          .containsExactly(true, false);
    }
  }
}
