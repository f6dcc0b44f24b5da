package dev.tally.cli;

import dev.tally.common.events.Lane;
import dev.tally.common.flink.JobArguments;
import dev.tally.common.flink.ProjectionContract;
import dev.tally.common.replay.Position;
import dev.tally.common.replay.ReplayRange;
import dev.tally.replay.Compare;
import dev.tally.replay.Cutover;
import dev.tally.replay.Discard;
import dev.tally.replay.JobControl;
import dev.tally.replay.Plan;
import dev.tally.replay.Rebuild;
import dev.tally.replay.Repair;
import dev.tally.replay.ReplayListener;
import dev.tally.replay.ReplaySession;
import dev.tally.replay.ReplaySettings;
import dev.tally.replay.Rescale;
import dev.tally.replay.Rollback;
import dev.tally.replay.Status;
import dev.tally.replay.TallyJob;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code tally replay}: re-drive or rebuild the views from any point of the log. Each subcommand
 * parses its options, runs one operation of the replay library ({@code dev.tally.replay}) and
 * prints its result.
 */
@Command(
    name = "replay",
    mixinStandardHelpOptions = true,
    description = {
      "Re-read the event log into the views, with reads staying up (docs/runbook.md).",
      "repair: restart the live job from its savepoint with the sources moved back; dedup skips what"
          + " was applied, missed events change the views.",
      "rescale: restart the live job from its savepoint at another parallelism, state kept.",
      "rebuild: a fresh job builds the next generation beside the live one; cutover switches"
          + " readers atomically once it has caught up and matches; rollback switches back.",
      "Positions (--from/--to): " + Position.FORMS + ".",
      "Talks to Flink only through its REST API; the projection jobs publish their options, so"
          + " Kafka, Valkey and PostgreSQL are taken from the live job unless given."
    },
    subcommands = {
      ReplayCommand.PlanCommand.class,
      ReplayCommand.RepairCommand.class,
      ReplayCommand.RescaleCommand.class,
      ReplayCommand.RebuildCommand.class,
      ReplayCommand.StatusCommand.class,
      ReplayCommand.CompareCommand.class,
      ReplayCommand.DiscardCommand.class,
      ReplayCommand.CutoverCommand.class,
      ReplayCommand.RollbackCommand.class
    })
final class ReplayCommand {

  /** {@code --parallelism} of the job a repair or rebuild starts; 0 keeps the live job's. */
  static final class NewParallelism {
    @Option(
        names = "--parallelism",
        defaultValue = "0",
        description =
            "Parallelism of the new job, 1 to "
                + JobArguments.MAX_PARALLELISM
                + " (default: the live job's); restored from a savepoint, its keyed state (dedup"
                + " ids, views) is redistributed over it.")
    int value;

    /** The value, refused (exit 2) outside 0 … {@link JobArguments#MAX_PARALLELISM}. */
    int checked() {
      JobControl.requireParallelism(value);
      return value;
    }
  }

  /** Where the cluster and the stores are, and how long to wait. */
  static final class Connection {
    @Option(
        names = "--flink",
        defaultValue = "${env:TALLY_FLINK_REST:-http://127.0.0.1:8081}",
        description = "Flink REST endpoint (default: $TALLY_FLINK_REST, else ${DEFAULT-VALUE}).")
    String flink;

    @Option(
        names = "--job",
        description =
            "The live projection job's id (default: the running Tally job writing the served generation).")
    String job;

    @Option(
        names = {"-b", "--bootstrap-servers"},
        defaultValue = "${env:" + KafkaOptions.BOOTSTRAP_ENV + "}",
        description = "Kafka (default: $" + KafkaOptions.BOOTSTRAP_ENV + ", else the live job's).")
    String bootstrapServers;

    @Option(
        names = "--valkey",
        defaultValue = "${env:TALLY_VALKEY}",
        description = "Valkey, redis://host:port (default: $TALLY_VALKEY, else the live job's).")
    String valkey;

    @Option(
        names = "--jdbc-url",
        defaultValue = "${env:TALLY_JDBC_URL}",
        description = "PostgreSQL (default: $TALLY_JDBC_URL, else the live job's).")
    String jdbcUrl;

    @Option(
        names = "--jdbc-user",
        defaultValue = "${env:TALLY_JDBC_USER}",
        description =
            "PostgreSQL user, the schema's owner for a cutover (default: $TALLY_JDBC_USER, else the live job's, else tally).")
    String jdbcUser;

    @Option(
        names = "--jar",
        defaultValue = "${env:TALLY_JOBS_JAR:-jobs/target/tally-jobs.jar}",
        description =
            "The projection job jar to submit (default: $TALLY_JOBS_JAR, else ${DEFAULT-VALUE}).")
    Path jar;

    @Option(
        names = "--savepoint-dir",
        description =
            "Where savepoints go (default: the cluster's execution.checkpointing.savepoint-dir).")
    String savepointDir;

    @Option(
        names = "--timeout",
        defaultValue = "30min",
        description =
            "Longest wait for a savepoint or a job to catch up (default: ${DEFAULT-VALUE}).")
    String timeout;

    @Option(
        names = "--progress-interval",
        defaultValue = "2s",
        description = "How often progress is printed while waiting (default: ${DEFAULT-VALUE}).")
    String progressInterval;

    /** A replay session over these settings, reporting to {@code out}. */
    ReplaySession session(PrintWriter out) {
      return new ReplaySession(
          new ReplaySettings(
              flink,
              blankToNull(bootstrapServers),
              blankToNull(valkey),
              blankToNull(jdbcUrl),
              jdbcUser,
              jar,
              savepointDir,
              Durations.parse("--timeout", timeout),
              Durations.parse("--progress-interval", progressInterval)),
          ReplayListener.printingTo(out));
    }

    private static String blankToNull(String value) {
      return value == null || value.isBlank() ? null : value;
    }
  }

  /** Parses --from/--to: a bad position is a bad argument (exit 2) with what is accepted. */
  static final class PositionConverter implements CommandLine.ITypeConverter<Position> {
    @Override
    public Position convert(String text) {
      try {
        return Position.parse(text);
      } catch (IllegalArgumentException e) {
        throw new CommandLine.TypeConversionException(e.getMessage());
      }
    }
  }

  @Command(
      name = "plan",
      mixinStandardHelpOptions = true,
      description =
          "Dry run: resolve --from/--to per partition and print how many events a replay would read.")
  static final class PlanCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin Connection connection;

    @Option(
        names = "--from",
        required = true,
        converter = PositionConverter.class,
        description = "Start position.")
    Position from;

    @Option(
        names = "--to",
        converter = PositionConverter.class,
        description = "End position (default: continuous).")
    Position to;

    @Option(
        names = "--lanes",
        split = ",",
        description = "Lanes to read (default: the live job's; p0,p1,p2 without one).")
    List<String> lanes;

    @Option(names = "--topic-prefix", description = "Topic prefix (default: the live job's, none).")
    String topicPrefix;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      try (ReplaySession session = connection.session(out)) {
        TallyJob live = null;
        if (lanes == null || connection.bootstrapServers == null) {
          live = session.jobs().live(connection.job);
        }
        List<String> topics = new ArrayList<>();
        if (lanes != null) {
          String prefix =
              topicPrefix != null ? topicPrefix : live == null ? "" : live.options().topicPrefix();
          for (String lane : lanes) {
            topics.add(Lane.parse(lane.trim()).topic(prefix));
          }
        } else {
          topics = live.topics();
        }
        String bootstrap =
            live == null ? connection.bootstrapServers : session.stores().bootstrap(live);
        new Plan(session).run(topics, bootstrap, live, from, to);
      }
      return 0;
    }
  }

  @Command(
      name = "repair",
      mixinStandardHelpOptions = true,
      description = {
        "Re-read from --from into the live views: savepoint and stop the live job, restart it from"
            + " the savepoint with its sources at --from (new source uid, non-restored state allowed).",
        "Its dedup state skips events already applied; only missed events change the views."
      })
  static final class RepairCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin Connection connection;

    @Option(
        names = "--from",
        required = true,
        converter = PositionConverter.class,
        description = "Start position.")
    Position from;

    @Mixin NewParallelism parallelism;

    @Option(names = "--no-wait", description = "Do not wait for the range to be read.")
    boolean noWait;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      int newParallelism = parallelism.checked();
      try (ReplaySession session = connection.session(out)) {
        TallyJob live = session.jobs().live(connection.job);
        Repair.Result done = new Repair(session).run(live, from, newParallelism, !noWait);
        out.printf(
            done.readTheRange()
                ? "repair done: %s read the range and runs on as the live job%n"
                : "repair job %s started; it reads the range and runs on as the live job%n",
            done.jobId());
      }
      return 0;
    }
  }

  @Command(
      name = "rescale",
      mixinStandardHelpOptions = true,
      description = {
        "Change the live job's parallelism: stop it with a savepoint and restart it from there at"
            + " --parallelism (same arguments, sources at their saved offsets).",
        "Its keyed state (dedup ids, views) is redistributed; nothing is re-read or lost."
      })
  static final class RescaleCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin Connection connection;

    @Option(
        names = "--parallelism",
        required = true,
        description = "The new parallelism, 1 to " + JobArguments.MAX_PARALLELISM + ".")
    int parallelism;

    @Override
    public Integer call() {
      JobControl.requireParallelism(parallelism);
      PrintWriter out = spec.commandLine().getOut();
      try (ReplaySession session = connection.session(out)) {
        TallyJob live = session.jobs().live(connection.job);
        Rescale.Result done = new Rescale(session).run(live, parallelism);
        out.printf(
            "job %s runs at parallelism %d, restored from the savepoint (its state"
                + " redistributed)%n",
            done.jobId(), done.parallelism());
      }
      return 0;
    }
  }

  @Command(
      name = "rebuild",
      mixinStandardHelpOptions = true,
      description = {
        "Build the views again in the next generation with a fresh job (empty state) while the live"
            + " generation keeps serving; wait until it has caught up.",
        "Then: tally replay cutover."
      })
  static final class RebuildCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin Connection connection;

    @Option(
        names = "--from",
        defaultValue = "earliest",
        converter = PositionConverter.class,
        description = "Start position (default: ${DEFAULT-VALUE}).")
    Position from;

    @Option(
        names = "--to",
        converter = PositionConverter.class,
        description = "End position: a bounded rebuild (default: continuous).")
    Position to;

    @Option(
        names = "--generation",
        defaultValue = "0",
        description = "Generation to build (default: one above every served or running one).")
    int generation;

    @Option(
        names = "--ready-lag",
        defaultValue = "1000",
        description =
            "Caught up when at most this many events are left to read (default: ${DEFAULT-VALUE}).")
    long readyLag;

    @Mixin NewParallelism parallelism;

    @Option(
        names = "--checkpoint-interval",
        description =
            "The rebuild job's checkpoint interval (default: the live job's). Catching up, every"
                + " checkpoint costs throughput: 30s read 12 % faster than 10s here"
                + " (docs/sizing.md); a continuous rebuild keeps it once it serves.")
    String checkpointInterval;

    @Option(names = "--no-wait", description = "Return once the job is submitted.")
    boolean noWait;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      if (generation < 0) {
        throw new IllegalArgumentException("--generation must be >= 1 (0: the next one)");
      }
      int newParallelism = parallelism.checked();
      java.time.Duration interval = null;
      if (checkpointInterval != null) {
        interval = Durations.parse(ProjectionContract.CHECKPOINT_INTERVAL, checkpointInterval);
        if (interval.isZero()) {
          throw new IllegalArgumentException("--checkpoint-interval must be > 0");
        }
      }
      try (ReplaySession session = connection.session(out)) {
        TallyJob live = session.jobs().live(connection.job);
        Rebuild.Result done =
            new Rebuild(session)
                .run(
                    live,
                    new Rebuild.Request(
                        from, to, generation, readyLag, newParallelism, interval, !noWait));
        printRebuilt(out, done, !noWait);
      }
      return 0;
    }

    static void printRebuilt(PrintWriter out, Rebuild.Result done, boolean waited) {
      ReplayRange range = done.range();
      if (!waited) {
        out.printf("rebuild job %s submitted (tally replay status shows its lag)%n", done.jobId());
      } else if (range.bounded()) {
        out.printf(
            "generation %d holds the bounded range; its job has finished, so it does not follow the"
                + " log and cutover (which switches to a running job) does not apply: read it with"
                + " tally view … --generation %d, or compare it; rebuild without --to to serve a"
                + " generation%n",
            done.generation(), done.generation());
      } else {
        out.printf(
            "generation %d has caught up; check and switch readers with: tally replay cutover%n",
            done.generation());
      }
      out.flush();
    }
  }

  @Command(
      name = "status",
      mixinStandardHelpOptions = true,
      description = "Served generation, projection jobs and their lag, retired generations.")
  static final class StatusCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin Connection connection;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      try (ReplaySession session = connection.session(out)) {
        new Status(session)
            .run()
            .ifPresentOrElse(
                report -> report.lines().forEach(out::println),
                () ->
                    out.println(
                        "no running Tally projection job, and no --valkey given: nothing to show"));
      }
      out.flush();
      return 0;
    }
  }

  @Command(
      name = "compare",
      mixinStandardHelpOptions = true,
      description = {
        "Compare the served generation with another (key counts, checksums, values) without"
            + " stopping or switching anything; exit 1 when they differ.",
        "Both jobs keep running: differences still in flight are looked at again for"
            + " --verify-timeout."
      })
  static final class CompareCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin Connection connection;

    @Option(
        names = "--generation",
        defaultValue = "0",
        description =
            "Generation to compare with (default: the newest running job's, other than the served one).")
    int generation;

    @Option(
        names = "--verify-timeout",
        defaultValue = "10s",
        description = "How long differences may take to settle (default: ${DEFAULT-VALUE}).")
    String verifyTimeout;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      Duration settle = Durations.parse("--verify-timeout", verifyTimeout);
      try (ReplaySession session = connection.session(out)) {
        TallyJob live = session.jobs().live(connection.job);
        Compare.Result result = new Compare(session).run(live, generation, settle);
        if (!result.clean()) {
          throw new IllegalStateException(
              "generation " + result.other() + " differs from " + result.served() + " (above)");
        }
        out.printf("generations %d and %d match%n", result.served(), result.other());
      }
      out.flush();
      return 0;
    }
  }

  /** Options cutover and rollback share. */
  static final class SwitchOptions {
    @Option(names = "--force", description = "Switch even when the comparison shows differences.")
    boolean force;

    /**
     * The shortest grace accepted: the old generation must outlive the readers still on it (a
     * reader resolves the generation once per request) and stay for a rollback.
     */
    static final Duration MIN_GRACE = Duration.ofMinutes(10);

    @Option(
        names = "--grace",
        defaultValue = "24h",
        description =
            "How long the old generation is kept for a rollback, at least 10m (default: ${DEFAULT-VALUE}).")
    String grace;

    /** The grace, refused (exit 2) below {@link #MIN_GRACE}, before anything is stopped. */
    Duration grace() {
      Duration parsed = Durations.parse("--grace", grace);
      if (parsed.compareTo(MIN_GRACE) < 0) {
        throw new IllegalArgumentException(
            "--grace "
                + grace
                + " is below the minimum of 10m: the old generation would be deleted while readers"
                + " may still read it, and no rollback could restore it");
      }
      return parsed;
    }

    @Option(
        names = "--ready-lag",
        defaultValue = "1000",
        description =
            "The new generation's job counts as caught up at this many events left (default: ${DEFAULT-VALUE}).")
    long readyLag;

    @Option(
        names = "--verify-timeout",
        defaultValue = "60s",
        description =
            "How long differences may take to settle before the switch is refused (default: ${DEFAULT-VALUE}).")
    String verifyTimeout;

    Cutover.Options of(Duration grace, Duration verify) {
      return new Cutover.Options(force, grace, readyLag, verify);
    }
  }

  /** What cutover and rollback print once readers are switched. */
  static void printSwitched(PrintWriter out, Cutover.Result done) {
    out.printf(
        "readers now served generation %d (Valkey: one Lua call; PostgreSQL: one transaction)%n",
        done.to());
    out.printf(
        "generation %d was frozen for %.1f s, from its job's stop to the switch (%s)%n",
        done.from(),
        done.frozen().toMillis() / 1000.0,
        done.recompared() < 0
            ? "every entry compared again"
            : String.format("%,d changed entries compared again", done.recompared()));
    out.printf(
        "generation %d retired: %,d Valkey keys expire at %s; rollback possible until then%s%n",
        done.from(),
        done.retiredKeys(),
        done.retiredUntil(),
        done.purgedRows() > 0 ? "; purged " + done.purgedRows() + " expired PostgreSQL rows" : "");
    out.flush();
  }

  @Command(
      name = "cutover",
      mixinStandardHelpOptions = true,
      description = {
        "Switch readers to a rebuilt generation: wait until its job has caught up, stop the live job"
            + " with a savepoint, compare the generations (key counts, checksums, values), then flip"
            + " Valkey (one Lua call) and PostgreSQL (one transaction).",
        "Refused on a difference unless --force (the live job is restarted from its savepoint)."
            + " The old generation expires after --grace; until then: tally replay rollback."
      })
  static final class CutoverCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin Connection connection;
    @Mixin SwitchOptions options;

    @Option(
        names = "--generation",
        defaultValue = "0",
        description =
            "Generation to serve (default: the newest running job's, other than the served one).")
    int generation;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      Duration grace = options.grace();
      Duration verify = Durations.parse("--verify-timeout", options.verifyTimeout);
      try (ReplaySession session = connection.session(out)) {
        TallyJob live = session.jobs().live(connection.job);
        printSwitched(out, new Cutover(session).run(live, generation, options.of(grace, verify)));
      }
      return 0;
    }
  }

  @Command(
      name = "rollback",
      mixinStandardHelpOptions = true,
      description =
          "Switch readers back to the generation the last cutover retired, while it still exists: its"
              + " job restarts from the savepoint taken at the cutover, catches up, then the switch runs"
              + " as a cutover does.")
  static final class RollbackCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin Connection connection;
    @Mixin SwitchOptions options;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      Duration grace = options.grace();
      Duration verify = Durations.parse("--verify-timeout", options.verifyTimeout);
      try (ReplaySession session = connection.session(out)) {
        TallyJob live = session.jobs().live(connection.job);
        printSwitched(out, new Rollback(session).run(live, options.of(grace, verify)).cutover());
      }
      return 0;
    }
  }

  @Command(
      name = "discard",
      mixinStandardHelpOptions = true,
      description = {
        "Throw away a generation no reader is served: cancel the jobs writing it, delete its"
            + " Valkey keys and PostgreSQL rows (a rebuild not wanted, or a retired generation no"
            + " longer needed).",
        "Refused for the served generation, and for the one the last cutover retired while a"
            + " rollback to it is possible (unless --force)."
      })
  static final class DiscardCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin Connection connection;

    @Option(names = "--generation", required = true, description = "The generation to discard.")
    int generation;

    @Option(
        names = "--force",
        description = "Discard the generation a rollback would go back to, too.")
    boolean force;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      if (generation < 1) {
        throw new CommandLine.ParameterException(
            spec.commandLine(), "--generation must be >= 1, got " + generation);
      }
      try (ReplaySession session = connection.session(out)) {
        TallyJob live = session.jobs().live(connection.job);
        Discard.Result done = new Discard(session).run(live, generation, force);
        out.printf(
            "generation %d discarded: %s; %,d Valkey keys and %,d PostgreSQL rows deleted%n",
            done.generation(),
            done.cancelledJobs().isEmpty()
                ? "no job wrote it"
                : "cancelled " + String.join(", ", done.cancelledJobs()),
            done.valkeyKeys(),
            done.rows());
        if (done.rollbackForgotten()) {
          out.printf(
              "the last cutover's record is deleted: no rollback to generation %d%n",
              done.generation());
        }
      }
      out.flush();
      return 0;
    }
  }
}
