package dev.tally.buildtools;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The Grafana dashboard (deploy/grafana/tally.json) cannot drift from the metrics: every panel has
 * a query on the dashboard's Prometheus data source, every query is valid PromQL (Prometheus' own
 * parser, through {@code promtool check rules}), and every metric it names is one Tally documents
 * (docs/metrics.md) or records (deploy/prometheus/alerts.yml). That each query returns series while
 * the job runs is checked by {@code make observe} ({@code tally metrics check} against the local
 * stack's Prometheus; CI runs it).
 */
class GrafanaDashboardTest {

  private static final Path DASHBOARD = Path.of("../deploy/grafana/tally.json");
  private static final Path METRICS_DOC = Path.of("../docs/metrics.md");
  private static final Path RULES = Path.of("../deploy/prometheus/alerts.yml");
  private static final Pattern METRIC =
      Pattern.compile("\\b(flink_[A-Za-z0-9_]+|tally:[a-z0-9_:]+)");

  private static List<JsonNode> panels() throws Exception {
    JsonNode dashboard = new ObjectMapper().readTree(DASHBOARD.toFile());
    List<JsonNode> panels = new ArrayList<>();
    dashboard.path("panels").forEach(panels::add);
    return panels;
  }

  private static List<String> queries() throws Exception {
    List<String> queries = new ArrayList<>();
    for (JsonNode panel : panels()) {
      panel.path("targets").forEach(target -> queries.add(target.path("expr").asText()));
    }
    return queries;
  }

  @Test
  void everyPanelQueriesTheDashboardsPrometheus() throws Exception {
    List<JsonNode> panels = panels();
    assertThat(panels).hasSizeGreaterThanOrEqualTo(10);
    for (JsonNode panel : panels) {
      String title = panel.path("title").asText();
      assertThat(title).as("a panel's title").isNotBlank();
      assertThat(panel.path("datasource").path("uid").asText())
          .as(title)
          .isEqualTo("${datasource}");
      assertThat(panel.path("targets")).as(title + ": its queries").isNotEmpty();
      panel
          .path("targets")
          .forEach(t -> assertThat(t.path("expr").asText()).as(title + ": a query").isNotBlank());
    }
  }

  @Test
  void everyQueryIsValidPromql() throws Exception {
    PrometheusRulesTest.Run check = checkAsRules(queries());
    assertThat(check.exit()).as(check.output()).isZero();
    assertThat(check.output()).contains("SUCCESS: " + queries().size() + " rules found");
  }

  @Test
  void anInvalidQueryIsCaught() throws Exception {
    // The check can fail: a query with an unbalanced parenthesis does.
    PrometheusRulesTest.Run check = checkAsRules(List.of("sum by (lane) (rate(x[1m])"));
    assertThat(check.exit()).isNotZero();
  }

  @Test
  void everyMetricNamedIsDocumentedOrRecorded() throws Exception {
    String documented =
        Files.readString(METRICS_DOC, StandardCharsets.UTF_8)
            + Files.readString(RULES, StandardCharsets.UTF_8);
    Set<String> named = new LinkedHashSet<>();
    for (String query : queries()) {
      Matcher metric = METRIC.matcher(query);
      while (metric.find()) {
        named.add(metric.group(1));
      }
    }
    assertThat(named).isNotEmpty();
    for (String metric : named) {
      assertThat(documented).as(metric + " in docs/metrics.md or alerts.yml").contains(metric);
    }
  }

  /** The queries as recording rules of a temporary rule file, checked by promtool. */
  private static PrometheusRulesTest.Run checkAsRules(List<String> queries) throws Exception {
    StringBuilder rules = new StringBuilder("groups:\n  - name: dashboard\n    rules:\n");
    for (int i = 0; i < queries.size(); i++) {
      rules
          .append("      - record: dashboard:panel_")
          .append(i)
          .append("\n        expr: '")
          .append(queries.get(i).replace("'", "''"))
          .append("'\n");
    }
    Path file = Files.createTempFile("dashboard-rules", ".yml");
    try {
      Files.writeString(file, rules.toString());
      Process process =
          new ProcessBuilder("promtool", "check", "rules", file.toString())
              .redirectErrorStream(true)
              .start();
      assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("promtool finished").isTrue();
      return new PrometheusRulesTest.Run(
          process.exitValue(),
          new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
    } finally {
      Files.deleteIfExists(file);
    }
  }
}
