package dev.tally.bench;

import dev.tally.common.events.Lane;
import dev.tally.common.flink.FlinkRestClient;
import dev.tally.common.flink.JobArguments;
import dev.tally.common.flink.JobState;
import dev.tally.common.flink.ProjectionContract;
import dev.tally.common.generator.GeneratorOptions;
import dev.tally.common.generator.LoadGenerator;
import dev.tally.common.generator.LoadRunner;
import dev.tally.common.kafka.EventProducer;
import dev.tally.common.kafka.EventTopics;
import dev.tally.common.kafka.TopicApplier;
import dev.tally.common.replay.Position;
import dev.tally.common.replay.PositionResolver;
import dev.tally.common.views.ValkeyEndpoint;
import dev.tally.replay.Rebuild;
import dev.tally.replay.ReplaySession;
import dev.tally.replay.ReplaySettings;
import dev.tally.replay.TallyJob;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.TopicPartition;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code make bench} / {@code make bench-quick}: measures, in one run on the local stack, the
 * machine's Kafka read limit, the projection job's catch-up throughput and its ratio to that limit,
 * end-to-end latency at fixed rates, and what each event costs. Writes a JSON file under {@code
 * bench/results/}, a row in {@code BENCHMARKS.md} and a PNG chart. Nothing here asserts a time.
 *
 * <p>The stack (broker, Valkey, PostgreSQL, Flink session cluster) must be up and empty: {@code
 * deploy/local/bench.sh} resets and starts it, then runs this.
 */
@Command(
    name = "tally-bench",
    mixinStandardHelpOptions = true,
    description = {
      "Benchmarks the projection job on the local stack against this machine's own Kafka read limit.",
      "Run through `make bench` (full) or `make bench-quick`; both reset the local stack first."
    })
public final class BenchMain implements Callable<Integer> {

  static final String PROJECTION_JOB = dev.tally.common.flink.ProjectionContract.ENTRY_CLASS;

  /** The sizes of a run; every one can be overridden. */
  enum Profile {
    FULL(5_000_000, 500_000, 60, 1_000_000, 20),
    QUICK(300_000, 50_000, 15, 100_000, 5),
    LADDER(2_000_000, 500_000, 0, 0, 0);

    final long events;
    final int users;
    final int latencySeconds;
    final long p2Backlog;
    final int serveSeconds;

    Profile(long events, int users, int latencySeconds, long p2Backlog, int serveSeconds) {
      this.events = events;
      this.users = users;
      this.latencySeconds = latencySeconds;
      this.p2Backlog = p2Backlog;
      this.serveSeconds = serveSeconds;
    }
  }

  @Option(
      names = "--profile",
      defaultValue = "quick",
      description =
          "full (5M events, 60 s per rate), quick (300k, 15 s) or ladder (2M, every rung, no"
              + " catch-up, latency or rebuild phase) (default: ${DEFAULT-VALUE}).")
  String profile;

  @Option(
      names = "--rungs",
      split = ",",
      description =
          "Ladder rungs to run after the read limit: floor, shuffle, project, fold, full (default:"
              + " floor; the ladder profile: all).")
  List<String> rungs;

  @Option(
      names = "--serve-seconds",
      description =
          "Seconds per load of the serving phase (tally serve under wrk: entry gets, leaderboard"
              + " tops, near cache on and off; default: the profile's; 0 = skip the phase).")
  Integer serveSeconds;

  @Option(
      names = "--serve-rates",
      split = ",",
      defaultValue = "10000,2000",
      description =
          "Requests/s of the serving phase's entry gets and leaderboard top-10s (default:"
              + " ${DEFAULT-VALUE}).")
  List<Integer> serveRates;

  @Option(
      names = "--near-cache-size",
      defaultValue = "100000",
      description = "The serving phase's near cache, in entries (default: ${DEFAULT-VALUE}).")
  long nearCacheSize;

  @Option(names = "--events", description = "Preloaded events (default: the profile's).")
  Long events;

  @Option(names = "--users", description = "Distinct users (default: the profile's).")
  Integer users;

  @Option(
      names = "--hunts",
      defaultValue = "2000",
      description = "Distinct hunts (default: ${DEFAULT-VALUE}).")
  int hunts;

  @Option(
      names = "--rates",
      split = ",",
      defaultValue = "5000,20000,50000",
      description = "Producer rates for the latency runs, events/s (default: ${DEFAULT-VALUE}).")
  List<Integer> rates;

  @Option(names = "--latency-seconds", description = "Seconds per rate (default: the profile's).")
  Integer latencySeconds;

  @Option(
      names = "--p2-backlog",
      description =
          "Lane isolation: daily bonuses (lane p2) produced at once while p0 probes run (default:"
              + " the profile's; 0 = skip the phase).")
  Long p2Backlog;

  @Option(
      names = "--p2-limit",
      defaultValue = "10000",
      description =
          "Lane isolation, second round: the live job restarted with --max-records-per-second"
              + " p2=this (default: ${DEFAULT-VALUE}; 0 = no second round).")
  int p2Limit;

  @Option(
      names = "--warm-up-seconds",
      defaultValue = "30",
      description =
          "Load at the first rate before the measured latency runs, not recorded: a job just"
              + " submitted spends its first tens of seconds compiling its code (C2 took most of a"
              + " core here), which is start-up, not the steady state the runs measure (default:"
              + " ${DEFAULT-VALUE}; 0 = none).")
  int warmUpSeconds;

  @Option(
      names = "--drain-seconds",
      defaultValue = "30",
      description =
          "After a latency run, how long to wait for the last probes (default: ${DEFAULT-VALUE}).")
  int drainSeconds;

  @Option(
      names = "--bootstrap-servers",
      defaultValue = "127.0.0.1:9092",
      description = "Kafka (default: ${DEFAULT-VALUE}).")
  String bootstrapServers;

  @Option(
      names = "--valkey",
      defaultValue = "redis://127.0.0.1:6380",
      description = "Valkey (default: ${DEFAULT-VALUE}).")
  String valkey;

  @Option(
      names = "--jdbc-url",
      defaultValue = "jdbc:postgresql://127.0.0.1:5433/tally",
      description = "PostgreSQL (default: ${DEFAULT-VALUE}).")
  String jdbcUrl;

  @Option(
      names = "--flink-rest",
      defaultValue = "http://127.0.0.1:8081",
      description = "Flink REST API (default: ${DEFAULT-VALUE}).")
  String flinkRest;

  @Option(
      names = "--job-jar",
      defaultValue = "jobs/target/tally-jobs.jar",
      description = "The jobs jar (default: ${DEFAULT-VALUE}).")
  Path jobJar;

  @Option(
      names = "--versus-jar",
      description =
          "Ladder profile: a second jobs jar to compare with --job-jar on the same preloaded log:"
              + " the rungs run with each jar in turn, A B B A (twice that with --rounds 4, …),"
              + " and the run prints each rung's median per jar and their ratio.")
  Path versusJar;

  @Option(
      names = "--versus-args",
      split = " ",
      description =
          "Ladder profile: job options for B (with --versus-jar, or the same jar when it is"
              + " absent), each replacing A's value of that option, e.g. \"--checkpoint-interval"
              + " 30s\" or \"--parallelism 1\": a setting compared the way --versus-jar compares"
              + " builds.")
  List<String> versusArgs;

  @Option(
      names = "--job-args",
      split = " ",
      description =
          "Job options for every job the run starts (catch-up, live, ladder; A and B alike), each"
              + " replacing the bench's value of that option, e.g. \"--valkey-max-delay 20ms\".")
  List<String> extraJobArgs;

  @Option(
      names = "--rounds",
      defaultValue = "2",
      description =
          "With --versus-jar: how many times each jar runs the rungs, in ABBA order (default:"
              + " ${DEFAULT-VALUE}).")
  int rounds;

  @Option(
      names = "--parallelism",
      defaultValue = "2",
      description = "Job parallelism (default: ${DEFAULT-VALUE}).")
  int parallelism;

  @Option(
      names = "--checkpoint-interval",
      defaultValue = "10s",
      description = "The job's checkpoint interval (default: ${DEFAULT-VALUE}).")
  String checkpointInterval;

  @Option(
      names = "--results",
      defaultValue = "bench/results",
      description = "Where the JSON and PNG go (default: ${DEFAULT-VALUE}).")
  Path results;

  @Option(
      names = "--markdown",
      defaultValue = "BENCHMARKS.md",
      description = "The table a row is added to (default: ${DEFAULT-VALUE}).")
  Path markdown;

  @Option(
      names = "--command",
      defaultValue = "make bench-quick",
      description = "The command recorded with the figures (default: ${DEFAULT-VALUE}).")
  String command;

  private final PrintStream out = System.out;

  public static void main(String[] args) {
    System.exit(new CommandLine(new BenchMain()).execute(args));
  }

  @Override
  public Integer call() throws Exception {
    Profile sizes;
    try {
      sizes = Profile.valueOf(profile.toUpperCase());
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(
          new CommandLine(this), "--profile '" + profile + "' is not one of full, quick, ladder");
    }
    boolean versus = versusJar != null || versusArgs != null;
    if (versus) {
      if (sizes != Profile.LADDER) {
        throw new CommandLine.ParameterException(
            new CommandLine(this),
            "--versus-jar and --versus-args compare in the ladder profile only");
      }
      if (versusJar != null && !Files.isRegularFile(versusJar)) {
        throw new CommandLine.ParameterException(
            new CommandLine(this), "--versus-jar " + versusJar + ": no such file");
      }
      if (versusArgs != null) {
        requirePairs("--versus-args", versusArgs);
      }
      if (rounds < 1) {
        throw new CommandLine.ParameterException(
            new CommandLine(this), "--rounds must be >= 1, got " + rounds);
      }
    }
    if (extraJobArgs != null) {
      requirePairs("--job-args", extraJobArgs);
    }
    long n = events != null ? events : sizes.events;
    int userCount = users != null ? users : sizes.users;
    int seconds = latencySeconds != null ? latencySeconds : sizes.latencySeconds;
    Instant started = Instant.now();
    String runId = started.toString().replace(":", "").replaceAll("\\.\\d+", "");
    Map<String, Object> result = new LinkedHashMap<>();
    result.put("id", runId);
    result.put("date", started.toString());
    result.put(
        "command",
        extraJobArgs == null
            ? command
            : command + " --job-args \"" + String.join(" ", extraJobArgs) + "\"");
    result.put("profile", profile);
    result.put("machine", Machine.describe());
    FlinkRestClient flink = new FlinkRestClient(flinkRest);

    try (StackProbe stack = new StackProbe(valkey, jdbcUrl, "tally", "")) {
      // 1. Topics and the preloaded log.
      step(
          "Preloading %,d events (%,d users, %,d hunts, Zipf 1.1, 2%% duplicates, 2%% out of order)",
          n, userCount, hunts);
      applyTopics();
      GeneratorOptions load =
          GeneratorOptions.defaults()
              .withSeed(2026)
              .withRecords(n)
              .withKeys(userCount, hunts, 1.1, 1.1)
              .withFractions(0.02, 0.02, 0, 0);
      LoadRunner.Result preload;
      try (EventProducer producer = new EventProducer(bootstrapServers, "", new Properties())) {
        preload =
            new LoadRunner(new LoadGenerator(load), producer, 0, out, Duration.ofSeconds(5)).run();
      }
      Map<String, Object> workload = new LinkedHashMap<>();
      workload.put("events", n);
      workload.put("distinctEventIds", preload.summary().distinctEvents());
      workload.put("duplicates", preload.summary().duplicates());
      workload.put("users", userCount);
      workload.put("hunts", hunts);
      workload.put("zipf", 1.1);
      workload.put("producerEventsPerSecond", round(preload.recordsPerSecond()));
      result.put("workload", workload);
      out.printf("  %,d sent at %,.0f events/s%n", n, preload.recordsPerSecond());

      // 2. The machine's limit.
      step("Kafka read limit: one plain consumer over every lane partition");
      KafkaReadLimit limit = new KafkaReadLimit(bootstrapServers);
      KafkaReadLimit.Read raw = limit.read(false);
      out.printf(
          "  raw:     %,d records in %.2f s = %,.0f records/s (%.1f MB/s)%n",
          raw.records(), raw.seconds(), raw.recordsPerSecond(), raw.bytes() / raw.seconds() / 1e6);
      KafkaReadLimit.Read decoded = limit.read(true);
      out.printf(
          "  decoded: %,d records in %.2f s = %,.0f records/s%n",
          decoded.records(), decoded.seconds(), decoded.recordsPerSecond());
      Map<String, Object> limits = new LinkedHashMap<>();
      limits.put("plainConsumerEventsPerSecond", round(raw.recordsPerSecond()));
      limits.put("plainConsumerMBPerSecond", round(raw.bytes() / raw.seconds() / 1e6));
      limits.put("decodingConsumerEventsPerSecond", round(decoded.recordsPerSecond()));
      limits.put("averageRecordBytes", raw.records() == 0 ? 0 : raw.bytes() / raw.records());
      result.put("limit", limits);

      // The ladder: the job cut after each stage, from the Flink floor up.
      List<String> ladderRungs =
          rungs != null
              ? rungs
              : sizes == Profile.LADDER
                  ? List.of("floor", "shuffle", "project", "fold", "full")
                  : List.of("floor");
      step("Ladder: the job cut after each stage, bounded over the same log: %s", ladderRungs);
      String jarId = flink.uploadJar(jobJar);
      if (versus) {
        List<String> bArgs = versusArgs == null ? List.of() : versusArgs;
        Path bJar = versusJar != null ? versusJar : jobJar;
        Ladder.Versus runs =
            new Ladder(flink, jarId, out)
                .versus(
                    versusJar != null ? flink.uploadJar(versusJar) : jarId,
                    rounds,
                    ladderRungs,
                    n,
                    i -> jobArgs("tally-bench-ladder-" + i, 100 + i, "earliest", "latest"),
                    i ->
                        overriding(
                            jobArgs("tally-bench-ladder-" + i, 100 + i, "earliest", "latest"),
                            bArgs));
        Map<String, Object> compared = runs.toMap(jobJar.toString(), bJar.toString());
        compared.put("bArgs", bArgs);
        result.put("versus", compared);
        Path json =
            new Report(results, markdown)
                .writeVersus(runId, result, runs, jobJar, versusJar, String.join(" ", bArgs));
        step("Wrote %s and two ladder rows (A, B) in %s", json, markdown);
        return 0;
      }
      List<Ladder.Rung> ladder =
          new Ladder(flink, jarId, out)
              .run(
                  ladderRungs,
                  n,
                  i -> jobArgs("tally-bench-ladder-" + i, 100 + i, "earliest", "latest"));
      result.put("ladder", ladder.stream().map(Ladder.Rung::toMap).toList());
      double floorRate =
          ladder.stream()
              .filter(r -> r.rung().equals("floor"))
              .mapToDouble(Ladder.Rung::eventsPerSecond)
              .findFirst()
              .orElse(Double.NaN);
      if (sizes == Profile.LADDER) {
        Report report = new Report(results, markdown);
        Path json = report.writeLadder(runId, result, ladder);
        step("Wrote %s and a ladder row in %s", json, markdown);
        return 0;
      }

      // 3 + 4. Catch-up and its cost.
      step(
          "Catch-up: the projection job (parallelism %d, RocksDB, checkpoints every %s) from earliest to the end",
          parallelism, checkpointInterval);
      stack.reset();
      StackProbe.Counters before = stack.read();
      String catchUpJob =
          flink.run(
              jarId,
              FlinkRestClient.Submission.of(
                  PROJECTION_JOB, jobArgs("tally-bench-catchup", 1, "earliest", "latest")));
      JobWatch catchUp = new JobWatch(flink, catchUpJob);
      long submitted = System.nanoTime();
      catchUp.awaitRunning(120_000);
      List<JobWatch.Sample> timeline = new ArrayList<>();
      double heapPeak = 0;
      JobWatch.StateSize lastCheckpoint = null;
      long readAtCheckpoint = 0;
      long lastPrinted = 0;
      while (true) {
        JobState state = catchUp.state();
        double t = (System.nanoTime() - submitted) / 1e9;
        if (state == JobState.FINISHED) {
          break;
        }
        if (state == JobState.FAILED || state == JobState.CANCELED) {
          throw new IllegalStateException(
              "catch-up job "
                  + catchUpJob
                  + " "
                  + state
                  + "; see the Flink dashboard "
                  + flinkRest);
        }
        long read = catchUp.recordsRead();
        double heap = catchUp.heapUsed();
        heapPeak = Math.max(heapPeak, heap);
        timeline.add(new JobWatch.Sample(t, read, heap));
        JobWatch.StateSize checkpoint = catchUp.latestCheckpoint();
        if (checkpoint != null
            && (lastCheckpoint == null
                || checkpoint.checkpointId() != lastCheckpoint.checkpointId())) {
          lastCheckpoint = checkpoint;
          readAtCheckpoint = read;
        }
        if (t - lastPrinted >= 10) {
          lastPrinted = (long) t;
          double rate =
              timeline.size() > 10
                  ? (read - timeline.get(timeline.size() - 11).recordsRead())
                      / (t - timeline.get(timeline.size() - 11).seconds())
                  : 0;
          out.printf(
              "  %4.0f s: %,d of %,d read (%.0f%%), %,.0f events/s, ETA %s%n",
              t,
              read,
              n,
              100.0 * read / n,
              rate,
              rate > 0 ? String.format("%.0f s", (n - read) / rate) : "-");
        }
        Thread.sleep(1000);
      }
      double jobSeconds = catchUp.job().runTime().toMillis() / 1000.0;
      double readAllAt = Double.NaN;
      for (JobWatch.Sample sample : timeline) {
        if (sample.recordsRead() >= n) {
          readAllAt = sample.seconds();
          break;
        }
      }
      StackProbe.Counters after = stack.read();
      double eventsPerSecond = n / jobSeconds;
      Map<String, Object> catchUpResult = new LinkedHashMap<>();
      catchUpResult.put("jobId", catchUpJob);
      catchUpResult.put("seconds", round(jobSeconds));
      catchUpResult.put("eventsPerSecond", round(eventsPerSecond));
      catchUpResult.put("ratioToPlainConsumer", round4(eventsPerSecond / raw.recordsPerSecond()));
      catchUpResult.put(
          "ratioToDecodingConsumer", round4(eventsPerSecond / decoded.recordsPerSecond()));
      catchUpResult.put("flinkFloorEventsPerSecond", round(floorRate));
      catchUpResult.put("ratioToFlinkFloor", round4(eventsPerSecond / floorRate));
      catchUpResult.put("allReadAfterSeconds", round(readAllAt));
      catchUpResult.put(
          "timing",
          "job start-time to end-time (Flink): from tasks deployed until the bounded job finished, every view written and the final checkpoint taken");
      result.put("catchUp", catchUpResult);
      out.printf(
          "  %,d events in %.1f s = %,.0f events/s = %.3f x the plain consumer, %.3f x the Flink"
              + " floor%n",
          n,
          jobSeconds,
          eventsPerSecond,
          eventsPerSecond / raw.recordsPerSecond(),
          eventsPerSecond / floorRate);

      Map<String, Object> cost = new LinkedHashMap<>();
      double perEvent = 1.0 / n;
      cost.put(
          "valkeyCommandsPerEvent",
          round4((after.valkeyCommands() - before.valkeyCommands()) * perEvent));
      cost.put(
          "valkeyScriptCallsPerEvent",
          round4((after.valkeyScriptCalls() - before.valkeyScriptCalls()) * perEvent));
      cost.put(
          "valkeyCpuCores",
          round4((after.valkeyCpuSeconds() - before.valkeyCpuSeconds()) / jobSeconds));
      cost.put("valkeyUsedMemoryBytes", after.valkeyUsedMemory());
      cost.put("valkeyPeakMemoryBytes", after.valkeyPeakMemory());
      cost.put(
          "postgresStatementsPerEvent",
          round4((after.postgresStatements() - before.postgresStatements()) * perEvent));
      cost.put(
          "postgresRowsWrittenPerEvent",
          round4((after.postgresRowsWritten() - before.postgresRowsWritten()) * perEvent));
      cost.put("taskManagerHeapPeakBytes", (long) heapPeak);
      if (lastCheckpoint != null && readAtCheckpoint > 0) {
        double distinctShare = (double) preload.summary().distinctEvents() / n;
        double idsAtCheckpoint = readAtCheckpoint * distinctShare;
        cost.put("rocksdbCheckpointId", lastCheckpoint.checkpointId());
        cost.put("rocksdbDedupChainStateBytes", lastCheckpoint.dedupChainBytes());
        cost.put("rocksdbJobStateBytes", lastCheckpoint.jobBytes());
        cost.put(
            "rocksdbBytesPerMillionEventIds",
            Math.round(lastCheckpoint.dedupChainBytes() / idsAtCheckpoint * 1e6));
        cost.put(
            "rocksdbNote",
            "full state size of the projection vertices (seen ids + user_score and leaderboard state) in the last checkpoint, over the distinct ids read when it completed; with the state changelog on it also counts the changes logged since the last materialization, and the PostgreSQL writers' unwritten updates (chained in the same vertices): an upper bound of the RocksDB footprint, not the footprint");
      }
      result.put("cost", cost);
      out.printf("  cost: %s%n", cost);

      // The serving phase: the catch-up's views (generation 1, every user) read over HTTP while
      // nothing writes them.
      List<ServeRun.Result> serving = List.of();
      int serveFor = serveSeconds != null ? serveSeconds : sizes.serveSeconds;
      if (serveFor > 0 && !ServeRun.wrkInstalled()) {
        step("Serving: skipped, wrk is not installed (make deps installs it)");
      } else if (serveFor > 0) {
        if (serveRates.size() != 2 || serveRates.get(0) < 1 || serveRates.get(1) < 1) {
          throw new CommandLine.ParameterException(
              new CommandLine(this),
              "--serve-rates takes two rates above 0 (entry gets, tops), got " + serveRates);
        }
        step(
            "Serving: tally serve under wrk, %d s per load after as long a warm-up: entry gets of"
                + " Zipf users at %,d/s, top-10s of Zipf hunts at %,d/s; near cache %,d entries,"
                + " then off",
            serveFor, serveRates.get(0), serveRates.get(1), nearCacheSize);
        serving =
            new ServeRun(ValkeyEndpoint.parse(valkey, false, null), jdbcUrl, out)
                .run(
                    userCount,
                    hunts,
                    serveRates.get(0),
                    serveRates.get(1),
                    serveFor,
                    nearCacheSize);
      }
      result.put("serving", serving);
      List<ServeRun.Query> queries = List.of();
      if (serveFor > 0) {
        step("PostgreSQL read model: docs/views.md's queries, one after another");
        queries =
            new ServeRun(ValkeyEndpoint.parse(valkey, false, null), jdbcUrl, out)
                .postgresQueries(userCount, hunts, 2000);
      }
      result.put("postgresQueries", queries);

      // 3. Latency at fixed rates.
      step(
          "Latency: a live job (generation 2) from latest, warmed up %d s; producer at %s events/s,"
              + " %d s each",
          warmUpSeconds, rates, seconds);
      String liveJob =
          flink.run(
              jarId,
              FlinkRestClient.Submission.of(
                  PROJECTION_JOB, jobArgs("tally-bench-live", 2, "latest", "none")));
      JobWatch live = new JobWatch(flink, liveJob);
      live.awaitRunning(120_000);
      Thread.sleep(3000);
      List<LatencyRun.Result> latency = new ArrayList<>();
      List<Map<String, Object>> isolation = new ArrayList<>();
      long backlog = p2Backlog != null ? p2Backlog : sizes.p2Backlog;
      Map<String, Object> rebuild;
      try {
        // 5. Replay rebuild beside the live job (idle here, before the latency runs load it).
        long slice = Math.max(1, n / 10);
        step(
            "Replay rebuild: tally replay rebuild of the log's first ~%,d events into generation 3,"
                + " bounded, beside the live job",
            slice);
        rebuild = replayRebuild(flink, liveJob, slice);
        LatencyRun runner = new LatencyRun(bootstrapServers, valkey, 2, live, out);
        warmUp(runner, userCount);
        for (int rate : rates) {
          latency.add(
              runner.run(rate, seconds, userCount, hunts, Duration.ofSeconds(drainSeconds)));
        }
        if (backlog > 0) {
          step(
              "Lane isolation: p0 probes alone for %d s, then while %,d daily bonuses (p2) drain",
              ISOLATION_ALONE_SECONDS, backlog);
          isolation.add(laneIsolation(2, "none", liveJob, "tally-bench-live", userCount, backlog));
        }
      } finally {
        flink.cancel(liveJob);
      }
      if (backlog > 0 && p2Limit > 0) {
        List<String> limited =
            new ArrayList<>(jobArgs("tally-bench-live-limited", 4, "latest", "none"));
        limited.addAll(List.of("--max-records-per-second", "p2=" + p2Limit));
        step(
            "Lane isolation again, the live job restarted (generation 4) with"
                + " --max-records-per-second p2=%,d",
            p2Limit);
        String limitedJob =
            flink.run(jarId, FlinkRestClient.Submission.of(PROJECTION_JOB, limited));
        try {
          JobWatch watch = new JobWatch(flink, limitedJob);
          watch.awaitRunning(120_000);
          // A new job: it compiles its code first, like the live job did before its runs.
          warmUp(new LatencyRun(bootstrapServers, valkey, 4, watch, out), userCount);
          isolation.add(
              laneIsolation(
                  4, "p2=" + p2Limit, limitedJob, "tally-bench-live-limited", userCount, backlog));
        } finally {
          flink.cancel(limitedJob);
        }
      }
      result.put("laneIsolation", isolation);
      result.put("latency", latency);
      result.put(
          "latencyClocks",
          Map.of(
              "outsideMs",
                  "probe event's Kafka append time (broker clock, LogAppendTime) → an outside reader polling Valkey every 1 ms first sees the probe's user_score entry (this machine's clock); NaN = not seen before the drain ended",
              "sinkMs",
                  "the job's endToEndLatencyMs histogram: Kafka append time → the sink writer's clock when Valkey acknowledged the batch; worst over sink subtasks and 5 s samples of each subtask's last 10,000 updates"));

      result.put("replayRebuild", rebuild);
      out.printf("  rebuild: %s%n", rebuild);

      result.put("timeline", timeline);
      Report report = new Report(results, markdown);
      Path json = report.write(runId, result, timeline, latency);
      report.writeServing(result, serving, queries);
      step(
          "Wrote %s, %s and a row in %s", json, json.toString().replace(".json", ".png"), markdown);
      return 0;
    }
  }

  /**
   * Runs {@code tally replay rebuild --from earliest --to <offsets>} (the real command, in-process)
   * over about {@code events} events and times the job it starts by Flink's start and end times.
   */
  private Map<String, Object> replayRebuild(FlinkRestClient flink, String liveJob, long events)
      throws Exception {
    List<String> topics = new ArrayList<>();
    for (Lane lane : Lane.values()) {
      topics.add(lane.topic(""));
    }
    Map<TopicPartition, Long> end = new LinkedHashMap<>();
    long total;
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    try (Admin admin = Admin.create(props)) {
      Map<TopicPartition, PositionResolver.Retained> retained =
          new PositionResolver(admin).retained(topics);
      long all = 0;
      for (PositionResolver.Retained range : retained.values()) {
        all += range.end() - range.earliest();
      }
      double share = Math.min(1.0, events / (double) Math.max(1, all));
      total = 0;
      for (Map.Entry<TopicPartition, PositionResolver.Retained> partition : retained.entrySet()) {
        long earliest = partition.getValue().earliest();
        long count = (long) Math.floor((partition.getValue().end() - earliest) * share);
        end.put(partition.getKey(), earliest + count);
        total += count;
      }
    }
    // The replay library itself, as tally replay rebuild runs it: its progress printed, its
    // result (the rebuild job's id) taken from the returned record.
    String rebuildJob;
    ReplaySettings settings =
        new ReplaySettings(
            flinkRest,
            blankToNull(System.getenv(dev.tally.common.Environment.BOOTSTRAP_SERVERS)),
            blankToNull(System.getenv("TALLY_VALKEY")),
            blankToNull(System.getenv("TALLY_JDBC_URL")),
            blankToNull(System.getenv("TALLY_JDBC_USER")),
            jobJar,
            null,
            Duration.ofMinutes(20),
            Duration.ofSeconds(5));
    try (ReplaySession session =
        new ReplaySession(
            settings,
            line -> {
              if (!line.startsWith("events.")) {
                out.println("  " + line);
              }
            })) {
      TallyJob live = session.jobs().byId(liveJob);
      Rebuild.Result done =
          new Rebuild(session)
              .run(
                  live,
                  new Rebuild.Request(
                      Position.parse("earliest"),
                      Position.parse(Position.format(end)),
                      3,
                      1000,
                      0,
                      null,
                      true));
      if (!done.finished()) {
        throw new IllegalStateException(
            "the bounded rebuild job " + done.jobId() + " did not finish");
      }
      rebuildJob = done.jobId();
    }
    double seconds = flink.job(rebuildJob).runTime().toMillis() / 1000.0;
    Map<String, Object> rebuild = new LinkedHashMap<>();
    rebuild.put("command", "tally replay rebuild --from earliest --to <offsets> --generation 3");
    rebuild.put("jobId", rebuildJob);
    rebuild.put("events", total);
    rebuild.put("seconds", round(seconds));
    rebuild.put("eventsPerSecond", round(total / seconds));
    rebuild.put(
        "note",
        "a bounded rebuild (fresh state, empty generation) of the log's first events while the live job"
            + " runs idle; timed by the job's Flink start and end times (job start-up included)");
    return rebuild;
  }

  static final int ISOLATION_ALONE_SECONDS = 20;

  /** Load at the first rate for {@code --warm-up-seconds}, not recorded: a new job's start-up. */
  private void warmUp(LatencyRun runner, int userCount) throws Exception {
    if (warmUpSeconds > 0 && !rates.isEmpty()) {
      out.printf("  warm-up (not recorded): %d s at %,d events/s%n", warmUpSeconds, rates.get(0));
      runner.run(rates.get(0), warmUpSeconds, userCount, hunts, Duration.ofSeconds(5));
    }
  }

  /** One lane-isolation round against a running, warmed-up live job. */
  private Map<String, Object> laneIsolation(
      int generation, String limit, String jobId, String group, int userCount, long backlog)
      throws Exception {
    // The latency runs above may have left a backlog (the job cannot hold the highest rates):
    // "alone" means with nothing left to read.
    awaitCaughtUp(group, Duration.ofMinutes(10));
    Map<String, Object> round =
        new LaneIsolationRun(bootstrapServers, valkey, generation, out)
            .run(ISOLATION_ALONE_SECONDS, backlog, userCount, Duration.ofMinutes(10))
            .toMap();
    Map<String, Object> row = new LinkedHashMap<>();
    row.put("job", jobId);
    row.put("p2Limit", limit);
    row.putAll(round);
    return row;
  }

  /**
   * Waits until the job reading as {@code group} has read (and committed, at a checkpoint) all but
   * 1,000 of the records the lane topics hold.
   */
  private void awaitCaughtUp(String group, Duration timeout) throws InterruptedException {
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    long deadline = System.nanoTime() + timeout.toNanos();
    try (Admin admin = Admin.create(props)) {
      PositionResolver resolver = new PositionResolver(admin);
      // The lane topics only: nothing reads the dead-letter topic as this group.
      List<String> topics = java.util.Arrays.stream(Lane.values()).map(l -> l.topic("")).toList();
      long started = System.nanoTime();
      while (true) {
        // The committed offsets of the job's group trail by a checkpoint; the group is the
        // job's own, so its lag is what is left.
        // A partition without a committed offset has had nothing to read since the job started
        // (it starts at latest): it adds no lag.
        long lag = 0;
        Map<TopicPartition, org.apache.kafka.clients.consumer.OffsetAndMetadata> committed;
        try {
          committed = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
        } catch (java.util.concurrent.ExecutionException e) {
          throw new IllegalStateException("offsets of group " + group + ": " + e.getCause(), e);
        }
        for (var entry : resolver.retained(topics).entrySet()) {
          var offset = committed.get(entry.getKey());
          if (offset != null) {
            lag += Math.max(0, entry.getValue().end() - offset.offset());
          }
        }
        if (lag <= 1_000) {
          out.printf(
              "  caught up (lag %,d) after %.0f s%n", lag, (System.nanoTime() - started) / 1e9);
          return;
        }
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException(
              "the live job still had " + lag + " records to read after " + timeout);
        }
        Thread.sleep(2_000);
      }
    }
  }

  private List<String> jobArgs(String group, int generation, String start, String stop) {
    return overriding(
        baseJobArgs(group, generation, start, stop),
        extraJobArgs == null ? List.of() : extraJobArgs);
  }

  private List<String> baseJobArgs(String group, int generation, String start, String stop) {
    return List.of(
        ProjectionContract.BOOTSTRAP_SERVERS, bootstrapServers,
        ProjectionContract.VALKEY, valkey,
        ProjectionContract.JDBC_URL, jdbcUrl,
        ProjectionContract.GROUP_ID, group,
        ProjectionContract.GENERATION, Integer.toString(generation),
        ProjectionContract.WRITER, group,
        ProjectionContract.START, start,
        ProjectionContract.STOP, stop,
        ProjectionContract.CHECKPOINT_INTERVAL, checkpointInterval,
        ProjectionContract.PARALLELISM, Integer.toString(parallelism));
  }

  /**
   * {@code args} with each {@code --option value} of {@code overrides} replacing that option's
   * value (or added when absent), through the job's own argument model.
   */
  static List<String> overriding(List<String> args, List<String> overrides) {
    JobArguments changed = new JobArguments(args);
    for (int i = 0; i < overrides.size(); i += 2) {
      changed = changed.with(overrides.get(i), overrides.get(i + 1));
    }
    return changed.list();
  }

  /** Refuses (exit 2) job options that are not {@code --option value} pairs. */
  private void requirePairs(String name, List<String> options) {
    boolean pairs = options.size() % 2 == 0;
    for (int i = 0; pairs && i < options.size(); i += 2) {
      pairs = options.get(i).startsWith("--");
    }
    if (!pairs) {
      throw new CommandLine.ParameterException(
          new CommandLine(this),
          name + " takes --option value pairs, got: " + String.join(" ", options));
    }
  }

  private void applyTopics() {
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    try (Admin admin = Admin.create(props)) {
      new TopicApplier(admin).apply(EventTopics.specs("", (short) 1, 0));
    }
  }

  private void step(String format, Object... args) {
    out.printf("%n== " + format + "%n", args);
  }

  static double round(double value) {
    return Math.round(value * 10) / 10.0;
  }

  static double round4(double value) {
    return Math.round(value * 10_000) / 10_000.0;
  }

  private static String blankToNull(String value) {
    return value == null || value.isBlank() ? null : value;
  }
}
