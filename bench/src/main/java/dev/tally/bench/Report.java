package dev.tally.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.internal.chartpart.Chart;

/** Writes a run: the JSON file, the PNG chart, and a row in BENCHMARKS.md's table. */
final class Report {

  static final String TABLE_MARKER =
      "<!-- bench rows (with the Flink floor): make bench appends below this line -->";
  static final String TABLE_HEADER =
      "| date (UTC) | command | events | plain consumer ev/s | decoding consumer ev/s | Flink floor ev/s | catch-up ev/s | catch-up / floor | catch-up / plain consumer | latency outside p50/p95/p99/p99.9 ms | latency sink p50/p95/p99/p99.9 ms | Valkey cmds/ev | script calls/ev | Valkey cores | Valkey MB | PG stmts/ev | RocksDB MB per 1M ids | TM heap peak MB | rebuild ev/s |\n"
          + "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|";

  static final String LADDER_MARKER =
      "<!-- ladder rows: make bench-ladder appends below this line -->";
  static final List<String> RUNGS = List.of("floor", "shuffle", "project", "fold", "full");
  static final String LADDER_HEADER =
      "| date (UTC) | command | events | floor ev/s | shuffle ev/s | project ev/s | fold ev/s | full ev/s | full / floor |\n"
          + "|---|---|---|---|---|---|---|---|---|";

  static final String SERVING_MARKER =
      "<!-- serving rows: make bench appends below this line (its serving phase) -->";
  static final String SERVING_HEADER =
      "| date (UTC) | command | load | near cache | target req/s | achieved req/s | p50 ms | p99 ms | p99.9 ms | max ms | hit rate | not 2xx |\n"
          + "|---|---|---|---|---|---|---|---|---|---|---|---|";

  private final Path results;
  private final Path markdown;

  Report(Path results, Path markdown) {
    this.results = results;
    this.markdown = markdown;
  }

  Path write(
      String runId,
      Map<String, Object> result,
      List<JobWatch.Sample> timeline,
      List<LatencyRun.Result> latency)
      throws IOException {
    Files.createDirectories(results);
    Path json = results.resolve(runId + ".json");
    new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(json.toFile(), result);
    chart(results.resolve(runId + ".png"), timeline, latency);
    appendRow(result, latency);
    return json;
  }

  /** A ladder run: the JSON file and a row in BENCHMARKS.md's ladder table. */
  Path writeLadder(String runId, Map<String, Object> result, List<Ladder.Rung> ladder)
      throws IOException {
    Path json = writeJson(runId, result);
    Map<String, Double> rates = new java.util.HashMap<>();
    ladder.forEach(r -> rates.put(r.rung(), r.eventsPerSecond()));
    insertLadderRow(result, "`" + result.get("command") + "`", rates);
    return json;
  }

  /**
   * An A/B ladder run ({@code --versus-jar}): one row per jar, each rung's median over the jar's
   * rounds, the B row saying which jar it is.
   */
  Path writeVersus(
      String runId,
      Map<String, Object> result,
      Ladder.Versus versus,
      Path jar,
      Path versusJar,
      String versusArgs)
      throws IOException {
    Path json = writeJson(runId, result);
    Map<String, Double> a = new java.util.HashMap<>();
    Map<String, Double> bRates = new java.util.HashMap<>();
    for (Ladder.Rung run : versus.a()) {
      a.put(run.rung(), Ladder.Versus.median(versus.a(), run.rung()));
      bRates.put(run.rung(), Ladder.Versus.median(versus.b(), run.rung()));
    }
    int rounds = versus.a().size() / Math.max(1, a.size());
    // Inserted at the top: B first, so A reads above it.
    String b =
        (versusJar == null ? "" : "--versus-jar " + versusJar.getFileName())
            + (versusArgs.isEmpty() ? "" : (versusJar == null ? "" : " ") + versusArgs);
    insertLadderRow(result, "B: `" + b + "`, median of " + rounds, bRates);
    insertLadderRow(
        result, "A: `--job-jar " + jar.getFileName() + "`, median of " + rounds + " (ABBA)", a);
    return json;
  }

  private Path writeJson(String runId, Map<String, Object> result) throws IOException {
    Files.createDirectories(results);
    Path json = results.resolve(runId + "-ladder.json");
    new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(json.toFile(), result);
    return json;
  }

  private void insertLadderRow(
      Map<String, Object> result, String command, Map<String, Double> rates) throws IOException {
    List<String> cells = new ArrayList<>();
    cells.add("");
    cells.add(result.get("date").toString().substring(0, 16).replace('T', ' '));
    cells.add(command);
    Object workload = result.get("workload");
    Object events =
        workload instanceof Map<?, ?> w && w.get("events") instanceof Number count ? count : 0L;
    cells.add(String.format("%,d", ((Number) events).longValue()));
    for (String rung : RUNGS) {
      cells.add(rates.containsKey(rung) ? thousands(rates.get(rung)) : "—");
    }
    cells.add(
        rates.containsKey("full") && rates.containsKey("floor")
            ? String.format("%.3f", rates.get("full") / rates.get("floor"))
            : "—");
    cells.add("");
    insertRow(LADDER_MARKER, LADDER_HEADER, String.join(" | ", cells).trim());
  }

  /** The serving phase's loads: a row each in BENCHMARKS.md's serving table. */
  void writeServing(
      Map<String, Object> result, List<ServeRun.Result> serving, List<ServeRun.Query> queries)
      throws IOException {
    // Inserted at the top: the last load first would reverse them, so insert them backwards.
    for (int i = queries.size() - 1; i >= 0; i--) {
      ServeRun.Query query = queries.get(i);
      List<String> cells = new ArrayList<>();
      cells.add("");
      cells.add(result.get("date").toString().substring(0, 16).replace('T', ' '));
      cells.add(result.get("command").toString());
      cells.add(
          query.query().contains("LIMIT 10")
              ? "PostgreSQL: a hunt's top 10 (SQL, one at a time)"
              : "PostgreSQL: an entry by key (SQL, one at a time)");
      cells.add("—");
      cells.add("—");
      cells.add(String.format("%,d runs", query.runs()));
      cells.add(String.format("%.2f", query.p50Ms()));
      cells.add(String.format("%.2f", query.p99Ms()));
      cells.add("—");
      cells.add(String.format("%.1f", query.maxMs()));
      cells.add("—");
      cells.add("—");
      cells.add("");
      insertRow(SERVING_MARKER, SERVING_HEADER, String.join(" | ", cells).trim());
    }
    for (int i = serving.size() - 1; i >= 0; i--) {
      ServeRun.Result run = serving.get(i);
      List<String> cells = new ArrayList<>();
      cells.add("");
      cells.add(result.get("date").toString().substring(0, 16).replace('T', ' '));
      cells.add(result.get("command").toString());
      cells.add(run.load().equals("top") ? "leaderboard top-10" : "entry gets");
      cells.add(run.nearCache() ? "on" : "off");
      cells.add(String.format("%,d", run.targetRate()));
      cells.add(thousands(run.achievedRate()));
      cells.add(String.format("%.2f", run.p50Ms()));
      cells.add(String.format("%.2f", run.p99Ms()));
      cells.add(String.format("%.2f", run.p999Ms()));
      cells.add(String.format("%.1f", run.maxMs()));
      cells.add(
          Double.isNaN(run.nearCacheHitRate())
              ? "—"
              : String.format("%.1f %%", 100 * run.nearCacheHitRate()));
      cells.add(String.format("%,d", run.non2xx()));
      cells.add("");
      insertRow(SERVING_MARKER, SERVING_HEADER, String.join(" | ", cells).trim());
    }
  }

  /** Adds a row at the top of the table under {@code marker}, creating the table if missing. */
  private void insertRow(String marker, String header, String row) throws IOException {
    String text =
        Files.exists(markdown)
            ? Files.readString(markdown, StandardCharsets.UTF_8)
            : "# Benchmarks\n";
    if (!text.contains(marker)) {
      text = text + "\n" + marker + "\n" + header + "\n";
    }
    // After the marker's line, the table's header line and its separator line (whatever their
    // text: an older header may name other columns).
    int at = text.indexOf('\n', text.indexOf(marker));
    for (int line = 0; line < 2; line++) {
      at = text.indexOf('\n', at + 1);
    }
    at++;
    text = text.substring(0, at) + row + "\n" + text.substring(at);
    Files.writeString(markdown, text, StandardCharsets.UTF_8);
  }

  @SuppressWarnings("unchecked")
  private void appendRow(Map<String, Object> result, List<LatencyRun.Result> latency)
      throws IOException {
    Map<String, Object> workload = (Map<String, Object>) result.get("workload");
    Map<String, Object> limit = (Map<String, Object>) result.get("limit");
    Map<String, Object> catchUp = (Map<String, Object>) result.get("catchUp");
    Map<String, Object> cost = (Map<String, Object>) result.get("cost");
    StringBuilder outside = new StringBuilder();
    StringBuilder sink = new StringBuilder();
    for (LatencyRun.Result run : latency) {
      String at = "@" + run.targetRate() / 1000 + "k: ";
      outside.append(outside.isEmpty() ? "" : "<br>").append(at).append(quantiles(run.outsideMs()));
      sink.append(sink.isEmpty() ? "" : "<br>").append(at).append(quantiles(run.sinkMs()));
    }
    Object perMillion = cost.get("rocksdbBytesPerMillionEventIds");
    String row =
        String.join(
                " | ",
                "",
                result.get("date").toString().substring(0, 16).replace('T', ' '),
                "`" + result.get("command") + "`",
                String.format("%,d", ((Number) workload.get("events")).longValue()),
                thousands(limit.get("plainConsumerEventsPerSecond")),
                thousands(limit.get("decodingConsumerEventsPerSecond")),
                thousands(catchUp.get("flinkFloorEventsPerSecond")),
                thousands(catchUp.get("eventsPerSecond")),
                String.format("%.3f", ((Number) catchUp.get("ratioToFlinkFloor")).doubleValue()),
                String.format("%.3f", ((Number) catchUp.get("ratioToPlainConsumer")).doubleValue()),
                outside.toString(),
                sink.toString(),
                cost.get("valkeyCommandsPerEvent").toString(),
                cost.get("valkeyScriptCallsPerEvent").toString(),
                cost.get("valkeyCpuCores").toString(),
                mb(cost.get("valkeyUsedMemoryBytes")),
                cost.get("postgresStatementsPerEvent").toString(),
                perMillion == null ? "n/a" : mb(perMillion),
                mb(cost.get("taskManagerHeapPeakBytes")),
                rebuild(result.get("replayRebuild")),
                "")
            .trim();
    insertRow(TABLE_MARKER, TABLE_HEADER, row);
  }

  private static String rebuild(Object replayRebuild) {
    if (replayRebuild instanceof Map<?, ?> rebuild && rebuild.get("eventsPerSecond") != null) {
      return thousands(rebuild.get("eventsPerSecond"))
          + String.format(" (%,d ev)", ((Number) rebuild.get("events")).longValue());
    }
    return "n/a";
  }

  private static String quantiles(Map<String, Double> values) {
    List<String> parts = new ArrayList<>();
    for (String p : JobWatch.PERCENTILES) {
      parts.add(LatencyRun.format(values.get(p)));
    }
    return String.join("/", parts);
  }

  private static String thousands(Object value) {
    return String.format("%,.0f", ((Number) value).doubleValue());
  }

  private static String mb(Object bytes) {
    return String.format("%.1f", ((Number) bytes).doubleValue() / 1e6);
  }

  private static void chart(
      Path png, List<JobWatch.Sample> timeline, List<LatencyRun.Result> latency)
      throws IOException {
    XYChart throughput =
        new XYChartBuilder()
            .width(800)
            .height(450)
            .title("Catch-up throughput")
            .xAxisTitle("seconds since submission")
            .yAxisTitle("events/s (sources, 5 s window)")
            .build();
    List<Double> xs = new ArrayList<>();
    List<Double> ys = new ArrayList<>();
    for (int i = 5; i < timeline.size(); i++) {
      JobWatch.Sample now = timeline.get(i);
      JobWatch.Sample then = timeline.get(i - 5);
      xs.add(now.seconds());
      ys.add((now.recordsRead() - then.recordsRead()) / (now.seconds() - then.seconds()));
    }
    if (xs.isEmpty()) {
      xs.add(0.0);
      ys.add(0.0);
    }
    throughput.addSeries("events/s", xs, ys);
    throughput.getStyler().setLegendVisible(false);

    CategoryChart percentiles =
        new CategoryChartBuilder()
            .width(800)
            .height(450)
            .title("End-to-end latency (ms)")
            .xAxisTitle("percentile")
            .yAxisTitle("ms")
            .build();
    for (LatencyRun.Result run : latency) {
      List<String> names = new ArrayList<>();
      List<Double> outside = new ArrayList<>();
      List<Double> sink = new ArrayList<>();
      for (String p : JobWatch.PERCENTILES) {
        names.add(p);
        outside.add(orZero(run.outsideMs().get(p)));
        sink.add(orZero(run.sinkMs().get(p)));
      }
      percentiles.addSeries("outside reader @" + run.targetRate() + "/s", names, outside);
      percentiles.addSeries("job histogram @" + run.targetRate() + "/s", names, sink);
    }
    List<Chart<?, ?>> charts = new ArrayList<>();
    charts.add(throughput);
    if (!latency.isEmpty()) {
      charts.add(percentiles);
    }
    BitmapEncoder.saveBitmap(
        charts,
        1,
        charts.size(),
        png.toString().replaceAll("\\.png$", ""),
        BitmapEncoder.BitmapFormat.PNG);
  }

  private static double orZero(Double value) {
    return value == null || value.isNaN() ? 0 : value;
  }
}
