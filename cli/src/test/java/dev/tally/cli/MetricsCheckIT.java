package dev.tally.cli;

import static dev.tally.cli.TallyCliIT.tally;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code tally metrics check} against a real Prometheus (Debian's, installed by {@code make deps})
 * that scrapes itself: its own series stand in for the pipeline's, the rule file is reloaded per
 * case. {@code make observe} runs the same command against the local stack with Tally's dashboard
 * and rules.
 */
class MetricsCheckIT {

  private static final String PREFIXES = "prometheus_,up,test:";

  /** Rules that read series the self-scraping Prometheus has: every check passes. */
  private static final String RULES =
      """
      groups:
        - name: test
          rules:
            - record: test:up:sum
              expr: sum(up)
            - alert: SelfDown
              expr: up{job="self"} == 0
      """;

  private static Process prometheus;
  private static Path dir;
  private static String url;

  @BeforeAll
  static void startPrometheus() throws Exception {
    dir = Files.createTempDirectory("metrics-check-it");
    int port;
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    url = "http://127.0.0.1:" + port;
    writeRules(RULES);
    Files.writeString(
        dir.resolve("prometheus.yml"),
        """
        global:
          scrape_interval: 1s
          evaluation_interval: 1s
        rule_files:
          - %s
        scrape_configs:
          - job_name: self
            static_configs:
              - targets: ['127.0.0.1:%d']
        """
            .formatted(dir.resolve("rules.yml"), port));
    prometheus =
        new ProcessBuilder(
                "prometheus",
                "--config.file=" + dir.resolve("prometheus.yml"),
                "--storage.tsdb.path=" + dir.resolve("data"),
                "--web.listen-address=127.0.0.1:" + port,
                "--web.enable-lifecycle")
            .redirectErrorStream(true)
            .redirectOutput(dir.resolve("prometheus.log").toFile())
            .start();
    HttpClient http = HttpClient.newHttpClient();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (true) {
      try {
        if (http.send(
                    HttpRequest.newBuilder(URI.create(url + "/-/ready")).build(),
                    HttpResponse.BodyHandlers.discarding())
                .statusCode()
            == 200) {
          break;
        }
      } catch (IOException notYet) {
        // starting
      }
      assertThat(prometheus.isAlive()).as("prometheus running; see " + dir).isTrue();
      assertThat(System.nanoTime()).as("prometheus ready within 60 s").isLessThan(deadline);
      Thread.sleep(200);
    }
  }

  @AfterAll
  static void stopPrometheus() throws Exception {
    if (prometheus != null) {
      prometheus.destroy();
      prometheus.waitFor(20, TimeUnit.SECONDS);
    }
  }

  private static void writeRules(String rules) throws IOException {
    Files.writeString(dir.resolve("rules.yml"), rules);
  }

  private static void reload() throws Exception {
    HttpResponse<Void> reloaded =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(URI.create(url + "/-/reload"))
                    .POST(HttpRequest.BodyPublishers.noBody())
                    .timeout(Duration.ofSeconds(30))
                    .build(),
                HttpResponse.BodyHandlers.discarding());
    assertThat(reloaded.statusCode()).as("reload").isEqualTo(200);
  }

  private static Path dashboard(String... queries) throws IOException {
    StringBuilder panels = new StringBuilder();
    for (int i = 0; i < queries.length; i++) {
      panels
          .append(i == 0 ? "" : ",")
          .append("{\"title\": \"panel ")
          .append(i)
          .append("\", \"targets\": [{\"expr\": \"")
          .append(queries[i].replace("\"", "\\\""))
          .append("\"}]}");
    }
    Path file = Files.createTempFile(dir, "dashboard", ".json");
    Files.writeString(file, "{\"panels\": [" + panels + "]}");
    return file;
  }

  /** {@code tally metrics check} against this test's Prometheus, retrying for {@code wait}. */
  private static TallyCliIT.Run check(String wait, Path dashboard) {
    return tally(
        "metrics",
        "check",
        "--prometheus",
        url,
        "--dashboard",
        dashboard.toString(),
        "--prefixes",
        PREFIXES,
        "--wait",
        wait,
        "--poll",
        "1s");
  }

  @Test
  void everyQueryAndRuleWithSeriesPassesAndAnEmptyPanelFails() throws Exception {
    reload();
    TallyCliIT.Run good = check("60s", dashboard("prometheus_build_info", "sum by (job) (up)"));
    assertThat(good.exitCode()).as(good.out() + good.err()).isZero();
    assertThat(good.out())
        .contains("panel 'panel 0'")
        .contains("recording rule test:up:sum")
        .contains("alert SelfDown reads up{job=\"self\"}")
        .contains("all 4 checks returned series");

    TallyCliIT.Run renamed =
        check(
            "0s", dashboard("prometheus_build_info", "rate(prometheus_no_such_metric_total[1m])"));
    assertThat(renamed.exitCode()).isEqualTo(1);
    assertThat(renamed.out())
        .contains("EMPTY")
        .contains("rate(prometheus_no_such_metric_total[1m])");
    assertThat(renamed.err()).contains("1 of 4 checks returned no series");
  }

  @Test
  void anAlertReadingNoSeriesFailsEvenThoughItEvaluates() throws Exception {
    // The alert is healthy (an empty result is no error) but could never fire: a wrong label.
    writeRules(
        """
        groups:
          - name: test
            rules:
              - alert: SelfDownWrongLabel
                expr: up{job="selff"} == 0
        """);
    reload();
    try {
      TallyCliIT.Run run = check("8s", dashboard("prometheus_build_info"));
      assertThat(run.exitCode()).as(run.out()).isEqualTo(1);
      assertThat(run.out())
          .contains("EMPTY")
          .contains("alert SelfDownWrongLabel reads up{job=\"selff\"}");
    } finally {
      writeRules(RULES);
      reload();
    }
  }

  @Test
  void anUnreachablePrometheusIsOneLine() throws Exception {
    int port;
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    TallyCliIT.Run run =
        tally(
            "metrics",
            "check",
            "--prometheus",
            "http://127.0.0.1:" + port,
            "--dashboard",
            dashboard("up").toString());
    assertThat(run.exitCode()).isEqualTo(1);
    assertThat(run.err().strip())
        .isEqualTo(
            "tally metrics check: error: Prometheus at http://127.0.0.1:"
                + port
                + " is not reachable");
  }
}
