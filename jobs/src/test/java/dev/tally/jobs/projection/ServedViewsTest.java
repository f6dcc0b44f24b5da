package dev.tally.jobs.projection;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

class ServedViewsTest {

  private static final Map<String, Map<String, Long>> EXPECTED =
      Map.of(
          "same", Map.of("points", 5L),
          "other", Map.of("points", 7L),
          "missing", Map.of("points", 1L));

  @Test
  void equalViewsPass() {
    assertThatCode(
            () -> ServedViews.assertServedAsExpected("score", Map.copyOf(EXPECTED), EXPECTED))
        .doesNotThrowAnyException();
  }

  @Test
  void aFailureNamesOnlyTheEntriesThatDiffer() {
    Map<String, Map<String, Long>> served =
        Map.of(
            "same", Map.of("points", 5L),
            "other", Map.of("points", 6L),
            "unexpected", Map.of("points", 2L));
    assertThatThrownBy(() -> ServedViews.assertServedAsExpected("score", served, EXPECTED))
        .isInstanceOf(AssertionError.class)
        .hasMessageContaining("score: 3 of 4 entries differ (served 3, expected 3)")
        .hasMessageContaining("other: expected {points=7}, served {points=6}")
        .hasMessageContaining("missing: expected {points=1}, served null")
        .hasMessageContaining("unexpected: expected null, served {points=2}")
        .hasMessageNotContaining("same:");
  }
}
