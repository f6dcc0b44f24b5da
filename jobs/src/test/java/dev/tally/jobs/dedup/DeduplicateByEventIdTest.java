package dev.tally.jobs.dedup;

import static dev.tally.jobs.TestEvents.T0;
import static dev.tally.jobs.TestEvents.USER_1;
import static dev.tally.jobs.TestEvents.USER_2;
import static dev.tally.jobs.TestEvents.checkIn;
import static org.assertj.core.api.Assertions.assertThat;

import dev.tally.jobs.decode.FoldEvent;
import dev.tally.jobs.projection.ByUser;
import java.time.Duration;
import java.util.List;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;

class DeduplicateByEventIdTest {

  private static final Duration HORIZON = Duration.ofDays(7);
  private static final long JUST_BEFORE_EXPIRY = HORIZON.toMillis() - 1;
  private static final long AFTER_EXPIRY = HORIZON.toMillis() + 1;

  /** A harness not yet opened, so state can be restored into it first. */
  private static KeyedOneInputStreamOperatorTestHarness<String, FoldEvent, FoldEvent> harness()
      throws Exception {
    return new KeyedOneInputStreamOperatorTestHarness<>(
        new KeyedProcessOperator<>(new DeduplicateByEventId(HORIZON)), new ByUser(), Types.STRING);
  }

  private static List<String> ids(
      KeyedOneInputStreamOperatorTestHarness<String, FoldEvent, FoldEvent> harness) {
    return harness.extractOutputValues().stream().map(e -> e.eventId).toList();
  }

  @Test
  void duplicateEventIsDropped() throws Exception {
    try (var harness = harness()) {
      harness.open();
      harness.processElement(checkIn("e1", USER_1, T0), 0);
      harness.processElement(checkIn("e2", USER_1, T0), 0);
      harness.processElement(checkIn("e1", USER_1, T0.plusSeconds(3600)), 0);

      assertThat(ids(harness)).containsExactly("e1", "e2");
    }
  }

  @Test
  void idIsRememberedForTheHorizonThenForgotten() throws Exception {
    try (var harness = harness()) {
      harness.setStateTtlProcessingTime(0);
      harness.open();
      harness.processElement(checkIn("e1", USER_1, T0), 0);

      harness.setStateTtlProcessingTime(JUST_BEFORE_EXPIRY);
      harness.processElement(checkIn("e1", USER_1, T0), 0);
      assertThat(ids(harness)).containsExactly("e1");

      harness.setStateTtlProcessingTime(AFTER_EXPIRY);
      harness.processElement(checkIn("e1", USER_1, T0), 0);
      assertThat(ids(harness))
          .as("past the horizon the id is new again")
          .containsExactly("e1", "e1");
    }
  }

  @Test
  void expiredIdsLeaveNoStateBehind() throws Exception {
    OperatorSubtaskState beforeExpiry;
    OperatorSubtaskState afterExpiry;
    try (var harness = harness()) {
      harness.setStateTtlProcessingTime(0);
      harness.open();
      harness.processElement(checkIn("e1", USER_1, T0), 0);
      harness.processElement(checkIn("e2", USER_1, T0), 0);
      harness.processElement(checkIn("e3", USER_2, T0), 0);
      assertThat(harness.numKeyedStateEntries()).isEqualTo(2);
      beforeExpiry = harness.snapshot(1, 1);
      harness.setStateTtlProcessingTime(AFTER_EXPIRY);
      afterExpiry = harness.snapshot(2, 2);
    }

    try (var restored = harness()) {
      restored.setStateTtlProcessingTime(1);
      restored.initializeState(beforeExpiry);
      restored.open();
      assertThat(restored.numKeyedStateEntries()).isEqualTo(2);
      restored.processElement(checkIn("e3", USER_2, T0), 0);
      assertThat(ids(restored)).as("restored state still knows e3").isEmpty();
    }
    try (var restored = harness()) {
      restored.initializeState(afterExpiry);
      restored.open();
      assertThat(restored.numKeyedStateEntries()).as("expired ids are not carried over").isZero();
    }
  }
}
