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
  void builderFieldsAreWhatItsTextParsesTo() {
    Partial partial = Partial.builder().sum("points", 3).min("first_ms", 7).max("last_ms", 9);

    assertThat(partial.fields())
        .isEqualTo(Partial.parse(partial.build()))
        .containsExactly(
            new Partial.Field(Partial.Op.SUM, "points", 3),
            new Partial.Field(Partial.Op.MIN, "first_ms", 7),
            new Partial.Field(Partial.Op.MAX, "last_ms", 9));
  }

  @Test
  void anUpdateCarriesItsBuiltFieldsAndParsesATextSetLater() {
    ViewUpdate built =
        new ViewUpdate("v", "k", "w", 1, Partial.builder().sum("points", 4).max("at", 2), 0);
    assertThat(built.partial).isEqualTo("sum:points=4;max:at=2");
    assertThat(built.fields())
        .containsExactly(
            new Partial.Field(Partial.Op.SUM, "points", 4),
            new Partial.Field(Partial.Op.MAX, "at", 2));
    assertThat(built.copy().fields()).isEqualTo(built.fields());

    // A reused instance (a deserializer writing into it) gets a new text: its fields follow.
    built.partial = "min:points=-1";
    assertThat(built.fields()).containsExactly(new Partial.Field(Partial.Op.MIN, "points", -1));
    assertThat(new ViewUpdate("v", "k", "w", 1, "sum:events=5", 0).fields())
        .containsExactly(new Partial.Field(Partial.Op.SUM, "events", 5));
  }

  @Test
  void badFieldNamesAndEncodingsAreRefused() {
    assertThatThrownBy(() -> Partial.builder().sum("Points;x", 1))
        .hasMessageContaining("must match [a-z][a-z0-9_]*");
    assertThatThrownBy(() -> Partial.parse("avg:points=3"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("unknown partial op 'avg'");
    assertThatThrownBy(() -> Partial.parse("su:points=3"))
        .hasMessageContaining("unknown partial op 'su'");
    assertThatThrownBy(() -> Partial.parse("summ:points=3"))
        .hasMessageContaining("unknown partial op 'summ'");
    assertThatThrownBy(() -> Partial.parse("points=3"))
        .hasMessageContaining("is not op:field=value");
  }
}
