package dev.tally.common.views;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ViewKeysTest {

  @Test
  void prefixesNameTheirTagAndGenerationWhicheverGenerationWasAskedBefore() {
    assertThat(ViewKeys.prefix(7, 1)).isEqualTo("tally:{07}:g1:");
    assertThat(ViewKeys.prefix(63, 12)).isEqualTo("tally:{63}:g12:");
    // Switching generations back and forth never serves another generation's prefix.
    assertThat(ViewKeys.prefix(0, 1)).isEqualTo("tally:{00}:g1:");
    assertThat(ViewKeys.entry(2, "user_score", "user-1"))
        .isEqualTo(
            "tally:{"
                + String.format("%02d", ViewKeys.tag("user_score:user-1"))
                + "}:g2:user_score:user-1");
  }
}
