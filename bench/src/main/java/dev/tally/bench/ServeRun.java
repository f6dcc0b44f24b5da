package dev.tally.bench;

import dev.tally.common.views.CacheWarmer;
import dev.tally.common.views.ValkeyEndpoint;
import dev.tally.common.views.ValkeyViewStore;
import dev.tally.common.views.ViewClient;
import dev.tally.common.views.ViewKeys;
import dev.tally.serve.ViewServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * {@code make bench}'s serving phase: {@code tally serve}'s API (a {@link ViewServer} in this JVM,
 * over the bench's stores) loaded by {@code wrk} at fixed rates — entry gets of Zipf-distributed
 * users and leaderboard top-10s of Zipf-distributed hunts — with its near cache, then without.
 * Latency is wrk's, from a request's write to its answer, paced to the millisecond by {@code
 * serve-load.lua}; the near cache's hit rate is the server's own counters over the run.
 */
final class ServeRun {

  /** One load: what was asked and what came back. */
  record Result(
      String load,
      boolean nearCache,
      int targetRate,
      double achievedRate,
      long requests,
      long non2xx,
      long socketErrors,
      double p50Ms,
      double p90Ms,
      double p99Ms,
      double p999Ms,
      double maxMs,
      double nearCacheHitRate,
      Map<String, Double> readsBySource) {}

  private static final int THREADS = 2;
  private static final int CONNECTIONS = 8;
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  private final ValkeyEndpoint valkey;
  private final String jdbcUrl;
  private final PrintStream out;

  ServeRun(ValkeyEndpoint valkey, String jdbcUrl, PrintStream out) {
    this.valkey = valkey;
    this.jdbcUrl = jdbcUrl;
    this.out = out;
  }

  /** Whether wrk is installed (make deps installs it); the phase is skipped without it. */
  static boolean wrkInstalled() {
    try {
      Process process = new ProcessBuilder("wrk", "--version").redirectErrorStream(true).start();
      process.getInputStream().readAllBytes();
      process.waitFor(10, TimeUnit.SECONDS);
      return true;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /**
   * Entry gets at {@code entryRate} and top-10s at {@code topRate}, {@code seconds} each after a
   * warm-up of the same length, with the near cache ({@code nearCacheSize} entries) and without.
   */
  List<Result> run(
      int users, int hunts, int entryRate, int topRate, int seconds, long nearCacheSize)
      throws Exception {
    Path script = Files.createTempFile("tally-serve-load", ".lua");
    try (InputStream in = ServeRun.class.getResourceAsStream("serve-load.lua")) {
      if (in == null) {
        throw new IllegalStateException("serve-load.lua missing from the bench's classpath");
      }
      Files.write(script, in.readAllBytes());
    }
    List<Result> results = new ArrayList<>();
    try {
      completeCache();
      for (long size : new long[] {nearCacheSize, 0}) {
        try (ViewClient client = new ViewClient(valkey, jdbcUrl, "tally", "");
            ViewServer server =
                ViewServer.start(
                    client,
                    "127.0.0.1",
                    0,
                    null,
                    new ViewServer.NearCacheSettings(valkey, size, Duration.ofSeconds(60)))) {
          if (size > 0) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!server.nearCacheListening() && System.nanoTime() < deadline) {
              Thread.sleep(20);
            }
          }
          results.add(load(server, script, "entries", users, entryRate, seconds, size > 0));
          results.add(load(server, script, "top", hunts, topRate, seconds, size > 0));
        }
      }
    } finally {
      Files.deleteIfExists(script);
    }
    return results;
  }

  /**
   * A bounded job (the catch-up) can end before its warden marks the cache complete; readers then
   * read PostgreSQL. What tally cache warm does first, so the loads measure the server over Valkey.
   */
  private void completeCache() throws Exception {
    try (ViewClient client = new ViewClient(valkey, jdbcUrl, "tally", "")) {
      int generation = client.generation();
      try (ValkeyViewStore store = new ValkeyViewStore(valkey, generation, 1000);
          Connection postgres = DriverManager.getConnection(jdbcUrl, "tally", "")) {
        Set<Integer> missing = CacheWarmer.incompleteTags(store.client(), generation);
        if (!missing.isEmpty()) {
          long started = System.nanoTime();
          CacheWarmer.Result warmed = CacheWarmer.warm(store, postgres, missing, rows -> {});
          out.printf(
              "  generation %d: %d of %d tags not marked complete (the bounded catch-up ended"
                  + " first): warmed from PostgreSQL as tally cache warm does, %,d partials, %.1f"
                  + " s%n",
              generation,
              missing.size(),
              ViewKeys.TAGS,
              warmed.rows(),
              (System.nanoTime() - started) / 1e9);
        }
      }
    }
  }

  /** The documented PostgreSQL queries (docs/views.md), timed one after another. */
  record Query(String query, int runs, double p50Ms, double p99Ms, double maxMs) {}

  /**
   * Times docs/views.md's queries on the read model: an entry by key (Zipf users) and a hunt's top
   * 10 (Zipf hunts), {@code runs} each after as many unmeasured.
   */
  List<Query> postgresQueries(int users, int hunts, int runs) throws Exception {
    List<Query> timed = new ArrayList<>();
    java.util.SplittableRandom random = new java.util.SplittableRandom(2026);
    double[] userWeights = zipf(users);
    double[] huntWeights = zipf(hunts);
    try (Connection postgres = DriverManager.getConnection(jdbcUrl, "tally", "")) {
      timed.add(
          time(
              postgres,
              "SELECT entry_key, value FROM served_view_value WHERE view = 'user_score' AND"
                  + " entry_key = ?",
              () -> "user-" + pick(userWeights, random),
              runs));
      timed.add(
          time(
              postgres,
              "SELECT rank_member, value ->> 'points' FROM served_view_value WHERE view ="
                  + " 'leaderboard' AND rank_set = ? ORDER BY (value ->> 'points')::numeric DESC"
                  + " LIMIT 10",
              () -> "hunt-" + pick(huntWeights, random),
              runs));
    }
    for (Query query : timed) {
      out.printf(
          "  PostgreSQL %s: p50 %.2f ms, p99 %.2f ms, max %.1f ms over %,d runs%n",
          query.query().contains("LIMIT 10") ? "top 10 of a hunt" : "entry by key",
          query.p50Ms(),
          query.p99Ms(),
          query.maxMs(),
          query.runs());
    }
    return timed;
  }

  private static Query time(
      Connection postgres, String sql, java.util.function.Supplier<String> key, int runs)
      throws Exception {
    long[] nanos = new long[runs];
    try (java.sql.PreparedStatement statement = postgres.prepareStatement(sql)) {
      for (int i = -runs; i < runs; i++) {
        statement.setString(1, key.get());
        long started = System.nanoTime();
        try (java.sql.ResultSet rows = statement.executeQuery()) {
          while (rows.next()) {
            rows.getString(2);
          }
        }
        if (i >= 0) {
          nanos[i] = System.nanoTime() - started;
        }
      }
    }
    java.util.Arrays.sort(nanos);
    return new Query(
        sql,
        runs,
        BenchMain.round4(nanos[runs / 2] / 1e6),
        BenchMain.round4(nanos[(int) Math.min(runs - 1, Math.ceil(runs * 0.99) - 1)] / 1e6),
        BenchMain.round4(nanos[runs - 1] / 1e6));
  }

  /** Cumulative Zipf(1.1) weights of ranks 0..n-1, as the bench's events pick keys. */
  private static double[] zipf(int n) {
    double[] cumulative = new double[n];
    double total = 0;
    for (int rank = 0; rank < n; rank++) {
      total += 1.0 / Math.pow(rank + 1, 1.1);
      cumulative[rank] = total;
    }
    for (int rank = 0; rank < n; rank++) {
      cumulative[rank] /= total;
    }
    return cumulative;
  }

  private static int pick(double[] cumulative, java.util.SplittableRandom random) {
    int index = java.util.Arrays.binarySearch(cumulative, random.nextDouble());
    return Math.min(index >= 0 ? index : -index - 1, cumulative.length - 1);
  }

  private Result load(
      ViewServer server,
      Path script,
      String load,
      int keys,
      int rate,
      int seconds,
      boolean nearCache)
      throws Exception {
    // The same load first, unmeasured: the server's code compiled, its near cache filled.
    wrk(server, script, load, keys, rate, seconds);
    Map<String, Double> before = counters(server);
    Map<String, Long> measured = wrk(server, script, load, keys, rate, seconds);
    Map<String, Double> after = counters(server);
    double hits = delta(before, after, "tally_serve_near_cache_reads_total{result=\"hit\"}");
    double misses = delta(before, after, "tally_serve_near_cache_reads_total{result=\"miss\"}");
    Map<String, Double> bySource = new LinkedHashMap<>();
    for (String source : List.of("valkey", "postgres", "none")) {
      double reads = 0;
      for (String view : List.of("user_score", "leaderboard")) {
        reads +=
            delta(
                before,
                after,
                "tally_serve_reads_total{source=\"" + source + "\",view=\"" + view + "\"}");
      }
      bySource.put(source, reads);
    }
    double duration = measured.getOrDefault("duration_us", 1L) / 1e6;
    Result result =
        new Result(
            load,
            nearCache,
            rate,
            BenchMain.round(measured.getOrDefault("requests", 0L) / duration),
            measured.getOrDefault("requests", 0L),
            measured.getOrDefault("non_2xx_3xx", 0L),
            measured.getOrDefault("socket_errors", 0L),
            ms(measured, "p50_us"),
            ms(measured, "p90_us"),
            ms(measured, "p99_us"),
            ms(measured, "p999_us"),
            ms(measured, "max_us"),
            hits + misses == 0 ? Double.NaN : BenchMain.round4(hits / (hits + misses)),
            bySource);
    out.printf(
        "  %-7s near cache %-3s target %,d/s: %,.0f/s, p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms,"
            + " max %.1f ms, hit rate %s, %,d not 2xx, %,d socket errors%n",
        load,
        nearCache ? "on" : "off",
        rate,
        result.achievedRate(),
        result.p50Ms(),
        result.p99Ms(),
        result.p999Ms(),
        result.maxMs(),
        Double.isNaN(result.nearCacheHitRate())
            ? "-"
            : String.format("%.1f %%", 100 * result.nearCacheHitRate()),
        result.non2xx(),
        result.socketErrors());
    return result;
  }

  private Map<String, Long> wrk(
      ViewServer server, Path script, String load, int keys, int rate, int seconds)
      throws Exception {
    List<String> command =
        List.of(
            "wrk",
            "-t" + THREADS,
            "-c" + CONNECTIONS,
            "-d" + seconds + "s",
            "--latency",
            "--timeout",
            "10s",
            "-s",
            script.toString(),
            "http://127.0.0.1:" + server.port(),
            "--",
            load,
            Integer.toString(rate),
            Integer.toString(keys),
            "1.1",
            Integer.toString(THREADS));
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!process.waitFor(seconds + 60L, TimeUnit.SECONDS) || process.exitValue() != 0) {
      throw new IllegalStateException("wrk failed: " + String.join(" ", command) + "\n" + output);
    }
    Map<String, Long> values = new LinkedHashMap<>();
    for (String line : output.split("\n")) {
      String[] parts = line.trim().split(" ");
      if (parts.length == 3 && parts[0].equals("tally-wrk")) {
        values.put(parts[1], Long.parseLong(parts[2]));
      }
    }
    if (!values.containsKey("requests")) {
      throw new IllegalStateException("wrk printed no figures:\n" + output);
    }
    return values;
  }

  /** The server's counters, from its Prometheus text (name with labels → value). */
  private static Map<String, Double> counters(ViewServer server) throws Exception {
    String text =
        HTTP.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/metrics"))
                    .build(),
                HttpResponse.BodyHandlers.ofString())
            .body();
    Map<String, Double> values = new LinkedHashMap<>();
    for (String line : text.split("\n")) {
      int space = line.lastIndexOf(' ');
      if (line.startsWith("#") || space < 0) {
        continue;
      }
      try {
        values.put(line.substring(0, space), Double.parseDouble(line.substring(space + 1)));
      } catch (NumberFormatException e) {
        // not a sample line
      }
    }
    return values;
  }

  private static double delta(Map<String, Double> before, Map<String, Double> after, String name) {
    return after.getOrDefault(name, 0.0) - before.getOrDefault(name, 0.0);
  }

  private static double ms(Map<String, Long> values, String key) {
    return BenchMain.round4(values.getOrDefault(key, 0L) / 1000.0);
  }
}
