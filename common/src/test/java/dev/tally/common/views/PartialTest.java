package dev.tally.common.views;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class PartialTest {

  @Test
  void builtPartialParsesBackFieldByField() {
    String encoded = Partial.builder().sum("points", 17).max("last_activity_ms", -5).build();

    assertThat(encoded).isEqualTo("sum:points=17;max:last_activity_ms=-5");
    assertThat(Partial.parse(encoded))
        .containsExactly(
            new Partial.Field(Partial.Op.SUM, "points", 17),
            new Partial.Field(Partial.Op.MAX, "last_activity_ms", -5));
  }

  @Test
  void badFieldNamesAndEncodingsAreRefused() {
    assertThatThrownBy(() -> Partial.builder().sum("Points;x", 1))
        .hasMessageContaining("must match [a-z][a-z0-9_]*");
    assertThatThrownBy(() -> Partial.parse("avg:points=3"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("unknown partial op 'avg'");
    assertThatThrownBy(() -> Partial.parse("points=3"))
        .hasMessageContaining("is not op:field=value");
  }
}
