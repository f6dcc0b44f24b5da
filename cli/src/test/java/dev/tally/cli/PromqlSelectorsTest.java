package dev.tally.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class PromqlSelectorsTest {

  private static final List<String> PREFIXES = List.of("flink_", "tally:", "pg_", "redis_");

  @Test
  void selectorsKeepTheirMatchersAndFunctionsAndLabelsAreNotMetrics() {
    String alert =
        "max by (job_name, lane) (label_replace("
            + "flink_taskmanager_job_task_operator_tally_endToEndLatencyMs{quantile=\"0.99\","
            + " operator_name=~\"valkey_.*\"}, \"lane\", \"$1\", \"operator_name\","
            + " \"valkey_(p[0-9])_.*\"))";

    assertThat(PromqlSelectors.of(alert, PREFIXES))
        .containsExactly(
            "flink_taskmanager_job_task_operator_tally_endToEndLatencyMs{quantile=\"0.99\","
                + " operator_name=~\"valkey_.*\"}");
  }

  @Test
  void everyMetricOfAnExpressionOnceRecordingRulesAndExportersIncluded() {
    String ratio =
        "sum by (job_name) (rate(flink_x_deadLettered{reason!=\"late\"}[5m])) / sum by"
            + " (job_name) (rate(flink_x_eventsIn[5m])) > 0.01 and tally:lag_records:by_source"
            + " > 10 or pg_up == 0 unless flink_x_eventsIn";

    assertThat(PromqlSelectors.of(ratio, PREFIXES))
        .containsExactly(
            "flink_x_deadLettered{reason!=\"late\"}",
            "flink_x_eventsIn",
            "tally:lag_records:by_source",
            "pg_up");
  }

  @Test
  void quotedTextAndOtherNamesAreSkipped() {
    // A matcher value holding a brace or a prefix, a name that only contains a prefix, time().
    String expression =
        "time() - my_flink_metric / 1000 + count(redis_up{instance=\"a}flink_b\"}) +"
            + " label_replace(vector(1), \"x\", \"flink_not_a_metric\", \"\", \"\")";

    assertThat(PromqlSelectors.of(expression, PREFIXES))
        .containsExactly("redis_up{instance=\"a}flink_b\"}");
  }

  @Test
  void anUnclosedMatcherIsRefused() {
    assertThatThrownBy(() -> PromqlSelectors.of("rate(flink_x{job=\"a\"[5m])", PREFIXES))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("unclosed '{'");
  }
}
