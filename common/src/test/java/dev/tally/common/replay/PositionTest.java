package dev.tally.common.replay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.util.Map;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

class PositionTest {

  @Test
  void parsesEveryForm() {
    assertThat(Position.parse("earliest")).isInstanceOf(Position.Earliest.class);
    assertThat(Position.parse(" latest ")).isInstanceOf(Position.Latest.class);
    assertThat(Position.parse("timestamp:2026-01-01T00:05:00Z"))
        .isEqualTo(new Position.Timestamp(Instant.parse("2026-01-01T00:05:00Z")));
    assertThat(Position.parse("timestamp:1767225900000"))
        .isEqualTo(new Position.Timestamp(Instant.parse("2026-01-01T00:05:00Z")));
    assertThat(Position.parse("group:tally-projection"))
        .isEqualTo(new Position.Group("tally-projection"));
    Position explicit = Position.parse("staging.events.p0:1:42,staging.events.p0:0:7");
    assertThat(((Position.Explicit) explicit).offsets())
        .containsExactly(
            Map.entry(new TopicPartition("staging.events.p0", 1), 42L),
            Map.entry(new TopicPartition("staging.events.p0", 0), 7L));
  }

  @Test
  void formatsOffsetsSortedAndParsesThemBack() {
    Map<TopicPartition, Long> offsets =
        Map.of(
            new TopicPartition("events.p1", 0), 5L,
            new TopicPartition("events.p0", 10), 1L,
            new TopicPartition("events.p0", 2), 3L);
    String text = Position.format(offsets);
    assertThat(text).isEqualTo("events.p0:2:3,events.p0:10:1,events.p1:0:5");
    assertThat(((Position.Explicit) Position.parse(text)).offsets()).isEqualTo(offsets);
  }

  @Test
  void badFormsSayWhatIsAccepted() {
    assertThatThrownBy(() -> Position.parse("yesterday"))
        .hasMessageContaining("'yesterday' is not a position")
        .hasMessageContaining(Position.FORMS);
    assertThatThrownBy(() -> Position.parse("timestamp:last tuesday"))
        .hasMessageContaining("is not a time")
        .hasMessageContaining("ISO-8601");
    assertThatThrownBy(() -> Position.parse("group:")).hasMessageContaining("names no group");
    assertThatThrownBy(() -> Position.parse("events.p0:x:1")).hasMessageContaining("whole numbers");
    assertThatThrownBy(() -> Position.parse("events.p0:0:-1")).hasMessageContaining(">= 0");
    assertThatThrownBy(() -> Position.parse("events.p0:0:1,events.p0:0:2"))
        .hasMessageContaining("twice");
    assertThatThrownBy(() -> Position.parse("")).hasMessageContaining("empty position");
  }
}
