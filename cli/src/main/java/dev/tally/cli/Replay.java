package dev.tally.cli;

import dev.tally.common.events.Lane;
import dev.tally.common.flink.FlinkRestClient;
import dev.tally.common.flink.JobArguments;
import dev.tally.common.flink.JobState;
import dev.tally.common.kafka.TopicApplier;
import dev.tally.common.replay.CutoverRecord;
import dev.tally.common.replay.GenerationComparison;
import dev.tally.common.replay.Generations;
import dev.tally.common.replay.Position;
import dev.tally.common.replay.PositionResolver;
import dev.tally.common.replay.ReplayLease;
import dev.tally.common.replay.ReplayRange;
import dev.tally.common.views.CacheWarmer;
import dev.tally.common.views.ValkeyEndpoint;
import dev.tally.common.views.ViewKeys;
import dev.tally.common.wait.Poll;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.TopicPartition;

/**
 * What {@code tally replay} does, over Flink's REST API, Kafka's AdminClient and the view stores.
 * The projection jobs publish their arguments ({@link JobArguments}); every operation derives the
 * job it starts from the live one's arguments, changing only what the operation is about.
 */
final class Replay implements AutoCloseable {

  static final String ENTRY_CLASS = "dev.tally.jobs.projection.ProjectionJob";

  /**
   * A lane source id no job has used: the repair job's sources must not find their state in the
   * live job's savepoint, or they resume at the saved offsets and re-read nothing. Made of the time
   * in milliseconds and a random part (two repairs within one millisecond still differ), and never
   * the live job's own id.
   */
  static String repairSourceId(String current) {
    String id;
    do {
      id =
          "repair-"
              + Long.toString(System.currentTimeMillis(), 36)
              + "-"
              + Long.toString(
                  java.util.concurrent.ThreadLocalRandom.current().nextLong(1L << 40), 36);
    } while (id.equals(current));
    return id;
  }

  /** Where things are and how long to wait; null connection fields come from the live job. */
  record Settings(
      String flinkUrl,
      String bootstrapServers,
      String valkey,
      String jdbcUrl,
      String jdbcUser,
      Path jar,
      String savepointDir,
      Duration timeout,
      Duration progressInterval) {}

  /** A running projection job and the arguments it published. */
  record TallyJob(String id, String name, JobArguments args) {
    int generation() {
      return Integer.parseInt(args.value("--generation", "1"));
    }

    List<String> topics() {
      String prefix = args.value("--topic-prefix", "");
      List<String> topics = new ArrayList<>();
      for (String lane : args.value("--lanes", "p0,p1,p2").split(",")) {
        String topic = Lane.parse(lane.trim()).topic(prefix);
        if (!topics.contains(topic)) {
          topics.add(topic);
        }
      }
      return topics;
    }

    @Override
    public String toString() {
      return id + " (" + name + ")";
    }
  }

  private final Settings settings;
  private final FlinkRestClient flink;
  private final PrintWriter out;
  private String uploadedJar;

  Replay(Settings settings, PrintWriter out) {
    this.settings = settings;
    this.flink = new FlinkRestClient(settings.flinkUrl());
    this.out = out;
  }

  // ---------------------------------------------------------------- jobs

  /** Running jobs that published Tally projection arguments, newest first. */
  List<TallyJob> runningJobs() {
    List<TallyJob> jobs = new ArrayList<>();
    for (FlinkRestClient.Job job : flink.jobs()) {
      if (job.state() != JobState.RUNNING) {
        continue;
      }
      Map<String, String> config = flink.userConfig(job.id());
      if (config.containsKey(JobArguments.KEY)) {
        jobs.add(new TallyJob(job.id(), job.name(), JobArguments.fromParameters(config, job.id())));
      }
    }
    return jobs;
  }

  /** The job given by id, or the one running job that writes {@code generation}. */
  TallyJob job(String id, int generation) {
    if (id != null) {
      Map<String, String> config = flink.userConfig(id);
      FlinkRestClient.JobDetails details = flink.job(id);
      if (details.state() != JobState.RUNNING) {
        throw new IllegalStateException("job " + id + " is " + details.state() + ", not RUNNING");
      }
      return new TallyJob(id, details.name(), JobArguments.fromParameters(config, id));
    }
    List<TallyJob> writers =
        runningJobs().stream().filter(job -> job.generation() == generation).toList();
    if (writers.isEmpty()) {
      throw new IllegalStateException(
          "no running Tally projection job writes generation "
              + generation
              + " on "
              + settings.flinkUrl()
              + "; start one (make demo) or name it with --job");
    }
    if (writers.size() > 1) {
      throw new IllegalStateException(
          "several running jobs write generation "
              + generation
              + ": "
              + writers
              + "; pick one with --job");
    }
    return writers.get(0);
  }

  // ---------------------------------------------------------------- plan

  /** Resolves a range over the job's topics (or {@code topics} when given) and prints it. */
  ReplayRange plan(
      List<String> topics, String bootstrap, TallyJob job, Position from, Position to) {
    ReplayRange range;
    try (Admin admin = admin(bootstrap, job)) {
      // A compacted lane topic has lost events: nothing read from it rebuilds the views exactly.
      new TopicApplier(admin).requireUsable(topics);
      range = new PositionResolver(admin).range(from, to, topics);
    }
    out.printf(
        "replay plan: from %s to %s%n",
        from,
        to == null ? "the end (continuous; counted to the end offsets now)" : to + " (bounded)");
    out.printf(
        "%-24s %14s %14s %14s %14s%n",
        "topic:partition", "retained from", "start", "end", "events");
    List<TopicPartition> order = new ArrayList<>(range.start().keySet());
    order.sort(Position.PARTITION_ORDER);
    for (TopicPartition tp : order) {
      long start = range.start().get(tp);
      long end = range.end().get(tp);
      out.printf(
          "%-24s %,14d %,14d %,14d %,14d%n",
          tp.topic() + ":" + tp.partition(),
          range.retained().get(tp).earliest(),
          start,
          end,
          end - start);
    }
    out.printf("total: %,d events in %d partitions%n", range.events(), order.size());
    out.flush();
    return range;
  }

  String bootstrap(TallyJob job) {
    return settings.bootstrapServers() != null
        ? settings.bootstrapServers()
        : job.args().value("--bootstrap-servers", null);
  }

  // ---------------------------------------------------------------- repair

  /**
   * Stops the live job with a savepoint and restarts it from there with its sources at {@code
   * from}: dedup state skips what was applied, missed events change the views. Returns the new
   * job's id.
   */
  String repair(TallyJob live, Position from, int parallelism, boolean wait) {
    requireRestartable(live, "repair");
    ReplayRange range = plan(live.topics(), bootstrap(live), live, from, null);
    uploadJar();
    String savepoint = stopWithSavepoint(live, live.toString());
    JobArguments args =
        withParallelism(
            live.args()
                .with("--start", range.startSpec())
                .with("--source-id", repairSourceId(live.args().value("--source-id", ""))),
            parallelism);
    String jobId;
    try {
      jobId = submit(args, savepoint, true);
    } catch (RuntimeException e) {
      throw new IllegalStateException(
          "the repair job did not start ("
              + e.getMessage()
              + "); the live job is stopped: restart it from "
              + savepoint
              + " (tally replay status shows what runs)",
          e);
    }
    out.printf(
        "repair job %s restored from the savepoint (dedup and view state kept), sources at the plan's start%n",
        jobId);
    out.flush();
    if (wait) {
      follow(jobId, live.topics(), range.start(), () -> range.end(), 0, false);
      out.printf("repair done: %s read the range and runs on as the live job%n", jobId);
    }
    out.flush();
    return jobId;
  }

  // ---------------------------------------------------------------- rescale

  /**
   * Stops the live job with a savepoint and restarts it from there at {@code parallelism}: the same
   * arguments, the same operator uids, sources at their saved offsets; Flink redistributes the
   * keyed state (dedup ids, user records, standings) over the new subtasks. Returns the new job's
   * id.
   */
  String rescale(TallyJob live, int parallelism) {
    requireRestartable(live, "rescale");
    if (parallelism < 1) {
      throw new IllegalArgumentException("--parallelism must be >= 1, got " + parallelism);
    }
    uploadJar();
    String savepoint = stopWithSavepoint(live, live.toString());
    TallyJob rescaled =
        new TallyJob(live.id(), live.name(), withParallelism(live.args(), parallelism));
    String jobId = restart(rescaled, savepoint);
    out.flush();
    awaitTasksRunning(jobId);
    out.printf(
        "job %s runs at parallelism %d, restored from the savepoint (its state redistributed)%n",
        jobId, parallelism);
    out.flush();
    return jobId;
  }

  // ---------------------------------------------------------------- rebuild

  /**
   * Starts a fresh job (empty state) that reads {@code from}..{@code to} into the next generation
   * while the live one keeps serving; waits until it has caught up when asked. Returns its id.
   *
   * @param checkpointInterval the new job's, or null for the live job's
   */
  String rebuild(
      TallyJob live,
      Position from,
      Position to,
      int generation,
      long readyLag,
      int parallelism,
      java.time.Duration checkpointInterval,
      boolean wait) {
    requireRestartable(live, "rebuild");
    int served;
    try (Generations generations = generations(live)) {
      served = generations.servedInValkey();
      // Above everything either store knows of (retired generations, rows left behind) and every
      // running job's.
      int highest = generations.highestKnown();
      for (TallyJob job : runningJobs()) {
        highest = Math.max(highest, job.generation());
      }
      if (generation == 0) {
        generation = highest + 1;
      }
      if (generation == served) {
        throw new IllegalArgumentException(
            "generation " + generation + " is the one readers are served; rebuild into another");
      }
      int existing = generations.keys(generation).size();
      if (existing > 0 || generations.hasRows(generation)) {
        throw new IllegalStateException(
            "generation "
                + generation
                + " already has "
                + (existing > 0 ? existing + " Valkey keys" : "PostgreSQL rows")
                + " (an earlier rebuild, or a retired generation kept for rollback); pick another"
                + " with --generation, or delete them (docs/runbook.md)");
      }
    }
    ReplayRange range = plan(live.topics(), bootstrap(live), live, from, to);
    JobArguments args =
        live.args()
            .without("--source-id")
            .with("--generation", Integer.toString(generation))
            .with("--start", range.startSpec())
            .with(
                "--group-id",
                live.args().value("--group-id", "tally-projection") + "-g" + generation);
    args = range.bounded() ? args.with("--stop", range.endSpec()) : args.without("--stop");
    if (checkpointInterval != null) {
      args = args.with("--checkpoint-interval", checkpointInterval.toMillis() + "ms");
    }
    String jobId = submit(withParallelism(args, parallelism), null, false);
    out.printf(
        "rebuild job %s writes generation %d (readers stay on %d)%n", jobId, generation, served);
    out.flush();
    if (wait) {
      if (range.bounded()) {
        follow(jobId, live.topics(), range.start(), () -> range.end(), 0, true);
        out.printf(
            "generation %d holds the bounded range; its job has finished, so it does not follow the"
                + " log and cutover (which switches to a running job) does not apply: read it with"
                + " tally view … --generation %d, or compare it; rebuild without --to to serve a"
                + " generation%n",
            generation, generation);
      } else {
        follow(jobId, live.topics(), range.start(), () -> endOffsets(live), readyLag, false);
        out.printf(
            "generation %d has caught up; check and switch readers with: tally replay cutover%n",
            generation);
      }
    }
    out.flush();
    return jobId;
  }

  // ---------------------------------------------------------------- cutover, rollback

  /**
   * Switches readers from the live generation to {@code next}'s: waits until next has caught up,
   * stops the live job with a savepoint (its generation is then frozen), waits until next has read
   * past where it stopped, compares the two, flips both stores, and retires the old generation (its
   * keys expire after {@code grace}). Refused on a difference unless {@code force}; on a refusal or
   * any failure before Valkey has flipped, the live job is restarted from its savepoint and nothing
   * changed for readers.
   */
  void switchOver(
      TallyJob live,
      TallyJob next,
      boolean force,
      Duration grace,
      long readyLag,
      Duration verifyTimeout) {
    // A refused cutover restarts the live job: it must be restartable before it is stopped.
    requireRestartable(live, "cut over");
    int from = live.generation();
    int to = next.generation();
    try (Generations generations = generations(live)) {
      int served = generations.servedInValkey();
      Integer servedInPostgres = generations.servedInPostgres();
      if (served != from || (servedInPostgres != null && servedInPostgres != from)) {
        throw new IllegalStateException(
            "readers are served generation "
                + served
                + " by Valkey"
                + (servedInPostgres == null ? "" : " and " + servedInPostgres + " by PostgreSQL")
                + ", not "
                + from
                + " (the live job's); fix the pointers first (docs/runbook.md)");
      }
      out.printf("waiting for generation %d (%s) to catch up …%n", to, next.id());
      out.flush();
      follow(next.id(), next.topics(), Map.of(), () -> endOffsets(live), readyLag, false);
      uploadJar();
      String savepoint =
          stopWithSavepoint(live, "the live job " + live + " (generation " + from + " freezes)");
      try {
        Map<TopicPartition, Long> frozenAt = endOffsets(live);
        follow(next.id(), next.topics(), Map.of(), () -> frozenAt, 0, false);
        if (servedInPostgres != null) {
          awaitCacheComplete(generations, to, verifyTimeout, force);
        }
        GenerationComparison comparison = compare(generations, from, to, verifyTimeout);
        comparison.print(out);
        if (!comparison.clean() && !force) {
          throw new Refused(
              "generation "
                  + to
                  + " differs from "
                  + from
                  + " (above). Use --force to switch anyway");
        }
        // The generation about to be served must not expire (it may be a retired one, back).
        generations.restore(to);
        generations.flipValkey(from, to);
      } catch (RuntimeException e) {
        String restarted = restart(live, savepoint);
        throw new IllegalStateException(
            (e instanceof Refused ? "cutover refused: " : "cutover abandoned before the switch: ")
                + e.getMessage()
                + "; readers stay on generation "
                + from
                + ", its job restarted from the savepoint as "
                + restarted,
            e);
      }
      // Valkey serves the new generation from here on: record the switch before anything else can
      // fail, so status and rollback know of it.
      new CutoverRecord(from, to, live.id(), savepoint, live.args(), Instant.now())
          .save(generations.valkeyClient());
      generations.flipPostgres(from, to);
      out.printf(
          "readers now served generation %d (Valkey: one Lua call; PostgreSQL: one transaction)%n",
          to);
      int keys = generations.retire(from, grace);
      int purged = generations.purgeExpired();
      out.printf(
          "generation %d retired: %,d Valkey keys expire at %s; rollback possible until then%s%n",
          from,
          keys,
          generations.retiredUntil(from),
          purged > 0 ? "; purged " + purged + " expired PostgreSQL rows" : "");
      out.flush();
    }
  }

  /** Why a cutover did not switch, when nothing failed. */
  private static final class Refused extends RuntimeException {
    private static final long serialVersionUID = 1L;

    Refused(String message) {
      super(message);
    }
  }

  /**
   * Restarts a stopped job from its savepoint with its own arguments. Its sources keep their uids
   * and restore their offsets from the savepoint, so {@code --start} does not apply: it is set to
   * {@code committed}, which needs no broker check (explicit offsets it was started with may have
   * left the retained range since).
   */
  private String restart(TallyJob job, String savepoint) {
    try {
      return submit(job.args().with("--start", "committed"), savepoint, false);
    } catch (RuntimeException e) {
      throw new IllegalStateException(
          "job "
              + job.id()
              + " is stopped and could not be restarted ("
              + e.getMessage()
              + "): run the jar's "
              + ENTRY_CLASS
              + " from savepoint "
              + savepoint
              + " with its arguments: "
              + job.args(),
          e);
    }
  }

  /** Brings the previous generation back: restarts its job from its savepoint, then switches. */
  void rollback(
      TallyJob current, boolean force, Duration grace, long readyLag, Duration verifyTimeout) {
    CutoverRecord last;
    try (Generations generations = generations(current)) {
      last =
          CutoverRecord.load(generations.valkeyClient())
              .orElseThrow(
                  () ->
                      new IllegalStateException(
                          "no cutover recorded (" + CutoverRecord.KEY + "); nothing to roll back"));
      int served = generations.servedInValkey();
      if (served != last.to()) {
        throw new IllegalStateException(
            "the last cutover went to " + last.to() + " but readers are served " + served);
      }
      if (generations.retiredUntil(last.from()) == null) {
        throw new IllegalStateException(
            "generation " + last.from() + " has expired (or was never retired); rebuild instead");
      }
    }
    int previousGeneration = last.from();
    for (TallyJob job : runningJobs()) {
      if (job.generation() == previousGeneration) {
        throw new IllegalStateException(
            "job "
                + job
                + " already writes generation "
                + previousGeneration
                + "; cancel it first (rollback restarts that generation's job from its savepoint)");
      }
    }
    JobArguments previousArgs = last.fromArgs();
    requireRestartable(
        new TallyJob(last.fromJob(), "g" + previousGeneration, previousArgs), "roll back");
    // Keep its keys from expiring while its job catches up.
    try (Generations generations = generations(current)) {
      generations.restore(previousGeneration);
    }
    out.printf(
        "restarting generation %d's job from %s …%n", previousGeneration, last.fromSavepoint());
    TallyJob stopped = new TallyJob(last.fromJob(), "g" + previousGeneration, previousArgs);
    String restarted = restart(stopped, last.fromSavepoint());
    TallyJob previousJob =
        new TallyJob(restarted, "restarted g" + previousGeneration, previousArgs);
    switchOver(current, previousJob, force, grace, readyLag, verifyTimeout);
  }

  // ---------------------------------------------------------------- status

  void status() {
    List<TallyJob> jobs = runningJobs();
    TallyJob any = jobs.isEmpty() ? null : jobs.get(0);
    if (any == null && settings.valkey() == null) {
      out.println("no running Tally projection job, and no --valkey given: nothing to show");
      out.flush();
      return;
    }
    try (Generations generations = generations(any)) {
      Integer pg = generations.servedInPostgres();
      out.printf(
          "served generation: Valkey %d%s%n",
          generations.servedInValkey(), pg == null ? "" : ", PostgreSQL " + pg);
      String lease = ReplayLease.holder(generations.valkeyClient());
      out.println("replay running: " + (lease == null ? "none" : lease));
      out.println("running projection jobs:");
      for (TallyJob job : jobs) {
        Map<TopicPartition, Long> ends = endOffsets(job);
        Map<TopicPartition, Long> at =
            new ReplayProgress(flink, job.id(), job.topics(), out).positions();
        long lag = 0;
        int unreported = 0;
        for (Map.Entry<TopicPartition, Long> end : ends.entrySet()) {
          Long position = at.get(end.getKey());
          if (position == null) {
            unreported++;
          } else {
            lag += Math.max(0, end.getValue() - position);
          }
        }
        out.printf(
            "  %s  generation %d  lanes %s  group %s  lag %s%n",
            job,
            job.generation(),
            job.args().value("--lanes", "p0,p1,p2"),
            job.args().value("--group-id", "tally-projection"),
            at.isEmpty()
                ? "unknown yet (no source offsets reported before its first record or checkpoint)"
                : String.format("%,d events", lag)
                    + (unreported == 0
                        ? ""
                        : " (" + unreported + " partitions not reported yet, not counted)"));
      }
      if (jobs.isEmpty()) {
        out.println("  (none)");
      }
      CutoverRecord last = CutoverRecord.load(generations.valkeyClient()).orElse(null);
      if (last != null) {
        Instant until = generations.retiredUntil(last.from());
        out.printf(
            "last cutover: generation %d → %d at %s; generation %d %s%n",
            last.from(),
            last.to(),
            last.at(),
            last.from(),
            until == null
                ? "has expired (no rollback)"
                : "kept until " + until + " (rollback possible)");
      }
      for (Generations.Retired retired : generations.retired()) {
        out.printf(
            "retired in PostgreSQL: generation %d, rows purged after %s%n",
            retired.generation(), retired.expiresAt());
      }
    }
    out.flush();
  }

  // ---------------------------------------------------------------- helpers

  /**
   * Readers of a generation whose Valkey cache is incomplete read PostgreSQL; the rebuild job marks
   * it complete three checkpoints after it started. Waits for that; refused after {@code timeout}.
   */
  private void awaitCacheComplete(
      Generations generations, int next, Duration timeout, boolean force) {
    long deadline = System.nanoTime() + timeout.toNanos();
    java.util.Set<Integer> missing = CacheWarmer.incompleteTags(generations.valkeyClient(), next);
    if (!missing.isEmpty()) {
      out.printf(
          "waiting for generation %d's Valkey cache to be complete (%d of %d tags unmarked) …%n",
          next, missing.size(), ViewKeys.TAGS);
      out.flush();
    }
    while (!missing.isEmpty() && System.nanoTime() < deadline) {
      sleep(Duration.ofSeconds(1));
      missing = CacheWarmer.incompleteTags(generations.valkeyClient(), next);
    }
    if (!missing.isEmpty() && !force) {
      throw new Refused(
          "generation "
              + next
              + "'s Valkey cache is still incomplete ("
              + missing.size()
              + " tags unmarked): see tally cache status --generation "
              + next
              + "; run tally cache warm --generation "
              + next
              + " or use --force");
    }
  }

  private GenerationComparison compare(
      Generations generations, int live, int next, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    GenerationComparison comparison = GenerationComparison.compare(generations, live, next);
    // The last events read may still be on their way to Valkey: look again for a while.
    while (!comparison.clean() && System.nanoTime() < deadline) {
      sleep(Duration.ofSeconds(1));
      comparison = GenerationComparison.compare(generations, live, next);
    }
    return comparison;
  }

  /**
   * Prints progress until every partition's read position reaches {@code target} minus {@code
   * allowedLag} events in total, or (bounded) the job finished.
   */
  private void follow(
      String jobId,
      List<String> topics,
      Map<TopicPartition, Long> start,
      Supplier<Map<TopicPartition, Long>> target,
      long allowedLag,
      boolean untilFinished) {
    ReplayProgress progress = new ReplayProgress(flink, jobId, topics, out);
    long deadline = System.nanoTime() + settings.timeout().toNanos();
    while (true) {
      JobState state = flink.state(jobId);
      if (untilFinished && state == JobState.FINISHED) {
        out.printf("job %s finished: the bounded range is read and written%n", jobId);
        return;
      }
      if (state.isGloballyTerminal() || state.isEndingBadly() || state == JobState.SUSPENDED) {
        throw new IllegalStateException(
            "job " + jobId + " is " + state + "; see " + settings.flinkUrl() + "/#/job/" + jobId);
      }
      long left = progress.report(start, target.get());
      if (!untilFinished && left <= allowedLag && !progress.positions().isEmpty()) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(
            "job "
                + jobId
                + " still has "
                + left
                + " events to read after "
                + settings.timeout()
                + " (--timeout); it keeps running");
      }
      sleep(settings.progressInterval());
    }
  }

  /** A job just (re)started takes no savepoint until its tasks run: wait for them. */
  private void awaitTasksRunning(String jobId) {
    try {
      Poll.until(
          "every task of job " + jobId + " RUNNING (not stopped)",
          settings.timeout(),
          Duration.ofMillis(500),
          () -> flink.allTasksRunning(jobId) ? Boolean.TRUE : null,
          () -> flink.state(jobId).name());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  private Map<TopicPartition, Long> endOffsets(TallyJob job) {
    try (Admin admin = admin(bootstrap(job), job)) {
      Map<TopicPartition, Long> ends = new HashMap<>();
      new PositionResolver(admin)
          .retained(job.topics())
          .forEach((tp, retained) -> ends.put(tp, retained.end()));
      return ends;
    }
  }

  /**
   * Refuses to act on a job whose published arguments lack secrets it was given inline (they are
   * redacted: {@link JobArguments#redacted()}), before anything is stopped.
   */
  /**
   * Stops a job with a savepoint once all its tasks run (Flink refuses a savepoint before), saying
   * so; the savepoint's path.
   */
  private String stopWithSavepoint(TallyJob job, String what) {
    out.printf("stopping %s with a savepoint …%n", what);
    out.flush();
    awaitTasksRunning(job.id());
    String savepoint =
        flink.stopWithSavepoint(job.id(), settings.savepointDir(), settings.timeout());
    out.printf("savepoint: %s%n", savepoint);
    out.flush();
    return savepoint;
  }

  /**
   * A replay's {@code --parallelism}: 0 keeps the live job's, else 1 … {@link
   * JobArguments#MAX_PARALLELISM}.
   */
  static void requireParallelism(int parallelism) {
    if (parallelism < 0 || parallelism > JobArguments.MAX_PARALLELISM) {
      throw new IllegalArgumentException(
          "--parallelism must be between 1 and "
              + JobArguments.MAX_PARALLELISM
              + " (the job's key groups; 0 = the live job's), got "
              + parallelism);
    }
  }

  private static JobArguments withParallelism(JobArguments args, int parallelism) {
    return parallelism > 0 ? args.with("--parallelism", Integer.toString(parallelism)) : args;
  }

  static void requireRestartable(TallyJob job, String what) {
    List<String> keys = job.args().redactedKeys();
    if (!keys.isEmpty()) {
      throw new IllegalStateException(
          "cannot "
              + what
              + ": job "
              + job.id()
              + " was given "
              + String.join(", ", keys)
              + " inline with --kafka-property, which its published configuration redacts, so it"
              + " cannot be restarted from there; give secrets in a file with"
              + " --kafka-properties-file (docs/projection-job.md) and resubmit it");
    }
  }

  private String submit(JobArguments args, String savepoint, boolean allowNonRestored) {
    return flink.run(
        uploadJar(),
        FlinkRestClient.Submission.of(ENTRY_CLASS, args.list())
            .fromSavepoint(savepoint, allowNonRestored));
  }

  /** Uploads the job jar once; done before any job is stopped, so a missing jar stops nothing. */
  private String uploadJar() {
    if (uploadedJar == null) {
      Path jar = settings.jar();
      if (!Files.isRegularFile(jar)) {
        throw new IllegalArgumentException(
            "job jar " + jar + " not found; build it (make build) or pass --jar");
      }
      uploadedJar = flink.uploadJar(jar);
    }
    return uploadedJar;
  }

  /** A held {@link ReplayLease} and the Valkey connection it lives on. */
  interface Lease extends AutoCloseable {
    @Override
    void close();
  }

  /**
   * One replay at a time: the lease in the live job's Valkey for {@code operation}, held until the
   * returned lease is closed; refused (naming the holder) while another operation holds it.
   */
  Lease lease(TallyJob live, String operation) {
    Generations generations = generations(live);
    try {
      ReplayLease lease = ReplayLease.acquire(generations.valkeyClient(), operation);
      return () -> {
        try {
          lease.close();
        } finally {
          generations.close();
        }
      };
    } catch (RuntimeException e) {
      generations.close();
      throw e;
    }
  }

  Generations generations(TallyJob job) {
    requireJobsStores(job);
    String valkey =
        settings.valkey() != null
            ? settings.valkey()
            : job == null ? null : job.args().value("--valkey", null);
    if (valkey == null) {
      throw new IllegalArgumentException("no Valkey known: pass --valkey redis://host:port");
    }
    boolean cluster = job != null && job.args().list().contains("--valkey-cluster");
    String jdbcUrl =
        settings.jdbcUrl() != null
            ? settings.jdbcUrl()
            : job == null ? null : job.args().value("--jdbc-url", null);
    String jdbcUser =
        settings.jdbcUser() != null
            ? settings.jdbcUser()
            : job == null ? "tally" : job.args().value("--jdbc-user", "tally");
    return new Generations(
        ValkeyEndpoint.parse(valkey, cluster, System.getenv("TALLY_VALKEY_PASSWORD"))
            .withCaFile(System.getenv(ValkeyEndpoint.CA_FILE_ENV)),
        jdbcUrl,
        jdbcUser,
        System.getenv("TALLY_PG_PASSWORD"));
  }

  /**
   * A {@code --valkey} or {@code --jdbc-url} given here (or by {@code $TALLY_VALKEY}, {@code
   * $TALLY_JDBC_URL}) must name the stores the live job writes: a replay compares and switches the
   * views of the stores it talks to, and another server's would be switched silently. Users and
   * passwords may differ (an operator's login beside the job's); servers and database may not.
   */
  void requireJobsStores(TallyJob job) {
    if (job == null) {
      return;
    }
    String jobValkey = job.args().value("--valkey", null);
    if (settings.valkey() != null && jobValkey != null) {
      Set<String> given = Set.copyOf(ValkeyEndpoint.parse(settings.valkey(), false, null).nodes());
      Set<String> writes = Set.copyOf(ValkeyEndpoint.parse(jobValkey, false, null).nodes());
      if (given.stream().noneMatch(writes::contains)) {
        throw new IllegalArgumentException(
            "--valkey (or $TALLY_VALKEY) names "
                + String.join(",", given)
                + ", but the live job "
                + job.id()
                + " writes Valkey at "
                + String.join(",", writes)
                + "; pass the live job's Valkey, or leave --valkey out to use it");
      }
    }
    String jobJdbc = job.args().value("--jdbc-url", null);
    if (settings.jdbcUrl() != null
        && jobJdbc != null
        && !database(settings.jdbcUrl()).equals(database(jobJdbc))) {
      throw new IllegalArgumentException(
          "--jdbc-url (or $TALLY_JDBC_URL) names "
              + database(settings.jdbcUrl())
              + ", but the live job "
              + job.id()
              + " writes "
              + database(jobJdbc)
              + "; pass the live job's database, or leave --jdbc-url out to use it");
    }
  }

  /** A JDBC URL without its parameters: the server and database it names. */
  private static String database(String jdbcUrl) {
    int query = jdbcUrl.indexOf('?');
    return (query < 0 ? jdbcUrl : jdbcUrl.substring(0, query)).replace("localhost", "127.0.0.1");
  }

  /**
   * An AdminClient for the job's cluster, with the job's security settings (its {@code
   * --kafka-property security.*|sasl.*|ssl.*}) when a job is known.
   */
  static Admin admin(String bootstrap, TallyJob job) {
    if (bootstrap == null || bootstrap.isBlank()) {
      throw new IllegalArgumentException(
          "no Kafka cluster known: pass --bootstrap-servers host:port or set "
              + KafkaOptions.BOOTSTRAP_ENV);
    }
    Map<String, String> properties = new HashMap<>();
    if (job != null) {
      // The job's properties file, when it is readable here too (its secrets are not published).
      String file = job.args().value("--kafka-properties-file", null);
      if (file != null && java.nio.file.Files.isReadable(java.nio.file.Path.of(file))) {
        java.util.Properties loaded = new java.util.Properties();
        try (var in = java.nio.file.Files.newBufferedReader(java.nio.file.Path.of(file))) {
          loaded.load(in);
        } catch (java.io.IOException e) {
          throw new IllegalStateException("cannot read " + file + ": " + e.getMessage(), e);
        }
        loaded.stringPropertyNames().forEach(k -> properties.put(k, loaded.getProperty(k)));
      }
      for (String property : job.args().values("--kafka-property")) {
        int at = property.indexOf('=');
        if (at > 0 && !property.substring(at + 1).equals(JobArguments.REDACTED)) {
          properties.put(property.substring(0, at), property.substring(at + 1));
        }
      }
    }
    return PositionResolver.admin(bootstrap, properties);
  }

  private static void sleep(Duration duration) {
    try {
      Thread.sleep(duration.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  /** Deletes the job jar this replay uploaded (the jobs it started keep running). */
  @Override
  public void close() {
    if (uploadedJar != null) {
      try {
        flink.deleteJar(uploadedJar);
      } catch (FlinkRestClient.FlinkRestException e) {
        out.printf("note: the uploaded jar %s was not deleted: %s%n", uploadedJar, e.getMessage());
      }
      uploadedJar = null;
    }
  }
}
