package dev.tally.common.events;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tally.events.EventType;
import org.junit.jupiter.api.Test;

class LaneTest {

  @Test
  void routingTableSendsEachTypeToItsLane() {
    assertThat(Lane.of(EventType.CHECKIN)).isEqualTo(Lane.P0);
    assertThat(Lane.of(EventType.QR_SCAN)).isEqualTo(Lane.P0);
    assertThat(Lane.of(EventType.TASK_COMPLETED)).isEqualTo(Lane.P1);
    assertThat(Lane.of(EventType.PURCHASE)).isEqualTo(Lane.P1);
    assertThat(Lane.of(EventType.DAILY_BONUS)).isEqualTo(Lane.P2);
  }

  @Test
  void everyKnownTypeHasALaneAndUnknownHasNone() {
    for (EventType type : EventType.values()) {
      if (type == EventType.UNKNOWN) {
        assertThatThrownBy(() -> Lane.of(type)).hasMessageContaining("has no lane");
      } else {
        assertThat(Lane.of(type)).isNotNull();
      }
    }
  }

  @Test
  void topicNamesTakeAPrefix() {
    assertThat(Lane.P0.topic("")).isEqualTo("events.p0");
    assertThat(Lane.P2.topic("test-3.")).isEqualTo("test-3.events.p2");
  }

  @Test
  void parseAcceptsLaneNamesAndSaysWhatIsAccepted() {
    assertThat(Lane.parse("p1")).isEqualTo(Lane.P1);
    assertThat(Lane.parse(" P2 ")).isEqualTo(Lane.P2);
    assertThatThrownBy(() -> Lane.parse("p9"))
        .hasMessage("unknown lane 'p9'; accepted: p0, p1, p2");
  }
}
