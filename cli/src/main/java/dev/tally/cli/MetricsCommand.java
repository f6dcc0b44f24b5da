package dev.tally.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code tally metrics}: checks on what Prometheus holds of the pipeline. */
@Command(
    name = "metrics",
    mixinStandardHelpOptions = true,
    description = "Checks on the pipeline's metrics in Prometheus.",
    subcommands = {MetricsCommand.Check.class})
final class MetricsCommand {

  /**
   * {@code tally metrics check}: every dashboard query and every rule reads series that exist, so
   * neither can drift silently from the metric names.
   */
  @Command(
      name = "check",
      mixinStandardHelpOptions = true,
      description = {
        "Ask a running Prometheus whether the dashboard and the alert rules read real series:",
        "every panel query of --dashboard returns at least one series; every recording rule it has"
            + " loaded holds series; every alerting rule evaluates without error and each series"
            + " selector in its expression (metrics named with --prefixes) matches at least one"
            + " series.",
        "Run it while the jobs run (make observe does, on the local stack). With --wait it"
            + " retries until everything has series or the time is up (rates need two scrapes)."
            + " Exit 0 when every check has series, 1 otherwise (each empty one listed)."
      })
  static final class Check implements Callable<Integer> {

    @Spec CommandSpec spec;

    @Option(
        names = "--prometheus",
        defaultValue = "http://127.0.0.1:9090",
        description = "Prometheus' base URL (default: ${DEFAULT-VALUE}).")
    String prometheus;

    @Option(
        names = "--dashboard",
        defaultValue = "deploy/grafana/tally.json",
        description =
            "The Grafana dashboard whose panel queries to run (default: ${DEFAULT-VALUE}).")
    Path dashboard;

    @Option(
        names = "--prefixes",
        split = ",",
        defaultValue = "flink_,tally:,pg_,redis_",
        description =
            "Names starting with these are the metrics an alert's selectors are checked for"
                + " (default: ${DEFAULT-VALUE}).")
    List<String> prefixes;

    @Option(
        names = "--wait",
        defaultValue = "0s",
        description = "How long to retry until every check has series (default: ${DEFAULT-VALUE}).")
    String waitText;

    @Option(
        names = "--poll",
        defaultValue = "5s",
        description = "Between retries (default: ${DEFAULT-VALUE}).")
    String pollText;

    /** One query and what it returned: series, or the error Prometheus or the rule reported. */
    record Result(String what, String query, int series, String error) {
      boolean ok() {
        return error == null && series > 0;
      }
    }

    private final ObjectMapper json = new ObjectMapper();
    private final HttpClient http =
        HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @Override
    public Integer call() throws Exception {
      Duration wait = Durations.parse("--wait", waitText);
      Duration poll = Durations.parse("--poll", pollText);
      if (poll.isZero() || poll.isNegative()) {
        throw new IllegalArgumentException("--poll must be > 0, got " + pollText);
      }
      List<String[]> panels = panelQueries();
      PrintWriter out = spec.commandLine().getOut();
      long deadline = System.nanoTime() + wait.toNanos();
      List<Result> results;
      while (true) {
        results = check(panels);
        long empty = results.stream().filter(r -> !r.ok()).count();
        if (empty == 0 || System.nanoTime() >= deadline) {
          break;
        }
        Result first = results.stream().filter(r -> !r.ok()).findFirst().orElseThrow();
        out.printf(
            "metrics check: %d of %d without series yet (e.g. %s); again in %s%n",
            empty, results.size(), first.what(), pollText);
        out.flush();
        Thread.sleep(poll.toMillis());
      }
      List<Result> failed = new ArrayList<>();
      for (Result result : results) {
        if (result.ok()) {
          out.printf("  ok     %4d series  %s%n", result.series(), result.what());
        } else {
          failed.add(result);
          out.printf(
              "  %-6s             %s%n      %s%n",
              result.error() == null ? "EMPTY" : "ERROR",
              result.what(),
              result.error() == null ? result.query() : result.error());
        }
      }
      out.flush();
      if (!failed.isEmpty()) {
        PrintWriter err = spec.commandLine().getErr();
        err.printf(
            "metrics check: %d of %d checks returned no series (listed above as EMPTY or ERROR)%n",
            failed.size(), results.size());
        err.flush();
        return 1;
      }
      out.printf("metrics check: all %d checks returned series%n", results.size());
      return 0;
    }

    /** Title and query of every panel target of the dashboard. */
    private List<String[]> panelQueries() throws IOException {
      if (!Files.isRegularFile(dashboard)) {
        throw new IllegalArgumentException("--dashboard " + dashboard + ": no such file");
      }
      List<String[]> queries = new ArrayList<>();
      JsonNode root = json.readTree(dashboard.toFile());
      for (JsonNode panel : root.path("panels")) {
        for (JsonNode target : panel.path("targets")) {
          String expr = target.path("expr").asText("");
          if (!expr.isBlank()) {
            queries.add(new String[] {panel.path("title").asText("(untitled)"), expr});
          }
        }
      }
      if (queries.isEmpty()) {
        throw new IllegalArgumentException(
            "--dashboard " + dashboard + " has no panel with a query (targets[].expr)");
      }
      return queries;
    }

    private List<Result> check(List<String[]> panels) throws IOException, InterruptedException {
      List<Result> results = new ArrayList<>();
      for (String[] panel : panels) {
        results.add(query("panel '" + panel[0] + "'", panel[1]));
      }
      JsonNode groups = get("/api/v1/rules").path("data").path("groups");
      int rules = 0;
      for (JsonNode group : groups) {
        for (JsonNode rule : group.path("rules")) {
          rules++;
          String name = rule.path("name").asText();
          String expression = rule.path("query").asText();
          if (rule.path("type").asText().equals("recording")) {
            results.add(query("recording rule " + name, name));
            continue;
          }
          String health = rule.path("health").asText();
          if (health.equals("err")) {
            results.add(
                new Result(
                    "alert " + name, expression, 0, "health err: " + rule.path("lastError")));
            continue;
          }
          List<String> selectors = PromqlSelectors.of(expression, prefixes);
          if (selectors.isEmpty()) {
            results.add(
                new Result(
                    "alert " + name,
                    expression,
                    0,
                    "reads no metric named with " + String.join(", ", prefixes)));
          }
          for (String selector : selectors) {
            results.add(query("alert " + name + " reads " + selector, selector));
          }
        }
      }
      if (rules == 0) {
        results.add(
            new Result("the rules", "/api/v1/rules", 0, "Prometheus has loaded no rule at all"));
      }
      return results;
    }

    private Result query(String what, String promql) throws IOException, InterruptedException {
      JsonNode answer =
          get("/api/v1/query?query=" + URLEncoder.encode(promql, StandardCharsets.UTF_8));
      if (!answer.path("status").asText().equals("success")) {
        return new Result(what, promql, 0, "Prometheus: " + answer.path("error").asText());
      }
      return new Result(what, promql, answer.path("data").path("result").size(), null);
    }

    private JsonNode get(String path) throws IOException, InterruptedException {
      URI uri = URI.create(prometheus.replaceAll("/+$", "") + path);
      HttpResponse<String> response;
      try {
        response =
            http.send(
                HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
      } catch (ConnectException e) {
        throw new IllegalStateException("Prometheus at " + prometheus + " is not reachable", e);
      }
      try {
        return json.readTree(response.body());
      } catch (IOException e) {
        throw new IllegalStateException(
            "Prometheus at " + prometheus + " answered " + response.statusCode() + " non-JSON", e);
      }
    }
  }
}
