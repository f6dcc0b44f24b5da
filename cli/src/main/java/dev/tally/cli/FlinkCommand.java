package dev.tally.cli;

import dev.tally.common.flink.FlinkRestClient;
import dev.tally.common.flink.JobArguments;
import dev.tally.common.flink.JobState;
import dev.tally.common.wait.Poll;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code tally flink}: submit a jar, wait for a job, read its metrics — over Flink's REST API, for
 * scripts (the demo, the smoke test) that would otherwise build and grep JSON by hand.
 */
@Command(
    name = "flink",
    mixinStandardHelpOptions = true,
    description =
        "Flink's REST API for scripts: submit, wait, list, cancel, stop, metric, records.",
    subcommands = {
      FlinkCommand.Submit.class,
      FlinkCommand.Wait.class,
      FlinkCommand.ListJobs.class,
      FlinkCommand.Args.class,
      FlinkCommand.Cancel.class,
      FlinkCommand.Stop.class,
      FlinkCommand.Metric.class,
      FlinkCommand.Records.class
    })
final class FlinkCommand {

  /** Where Flink's REST API is. */
  static final class Rest {
    @Option(
        names = "--rest",
        defaultValue = "${env:TALLY_FLINK_REST:-http://127.0.0.1:8081}",
        description = "Flink REST endpoint (default: $TALLY_FLINK_REST, else ${DEFAULT-VALUE}).")
    String url;

    FlinkRestClient client() {
      return new FlinkRestClient(url);
    }
  }

  @Command(
      name = "submit",
      mixinStandardHelpOptions = true,
      description =
          "Upload a job jar, run a class of it as a job and delete the uploaded jar (POST"
              + " /jars/upload, /jars/<id>/run, DELETE /jars/<id>); prints the job id. Idempotent:"
              + " the job id is chosen before the run (--job-id), so a retry of a submission whose"
              + " reply was lost finds the job instead of starting a second one. Arguments after"
              + " -- go to the job.")
  static final class Submit implements Callable<Integer> {
    @Spec CommandSpec spec;
    @picocli.CommandLine.Mixin Rest rest;

    @Option(names = "--jar", required = true, description = "The job jar.")
    Path jar;

    @Option(names = "--class", required = true, description = "The entry class.")
    String entryClass;

    @Option(
        names = "--parallelism",
        defaultValue = "0",
        description = "Parallelism (default: the cluster's).")
    int parallelism;

    @Option(
        names = "--job-id",
        description =
            "The job's id, 32 hex digits (default: a fresh one). Submitting again with the same id"
                + " starts nothing when the cluster already knows the job and prints the id.")
    String jobId;

    @Option(
        names = "--keep-jar",
        description = "Keep the uploaded jar on the cluster (default: deleted once submitted).")
    boolean keepJar;

    @Option(
        names = "--from-savepoint",
        paramLabel = "PATH",
        description = "Restore the job from this savepoint (or retained checkpoint).")
    String savepoint;

    @Option(
        names = "--allow-non-restored-state",
        description =
            "With --from-savepoint: accept state of operators the job no longer has (a repair's"
                + " dropped sources).")
    boolean allowNonRestoredState;

    @Parameters(paramLabel = "ARG", description = "The job's arguments.")
    List<String> args = new ArrayList<>();

    @Override
    public Integer call() {
      if (!Files.isReadable(jar)) {
        throw new ParameterException(
            spec.commandLine(), "--jar " + jar + " is not a readable file");
      }
      if (parallelism < 0) {
        throw new ParameterException(
            spec.commandLine(),
            "--parallelism must be 0 (the cluster's) or more, got " + parallelism);
      }
      String id = jobId == null ? FlinkRestClient.newJobId() : jobId.toLowerCase(Locale.ROOT);
      if (!id.matches("[0-9a-f]{32}")) {
        throw new ParameterException(
            spec.commandLine(), "--job-id must be 32 hex digits (Flink's job id), got " + jobId);
      }
      FlinkRestClient flink = rest.client();
      if (allowNonRestoredState && savepoint == null) {
        throw new ParameterException(
            spec.commandLine(), "--allow-non-restored-state needs --from-savepoint");
      }
      FlinkRestClient.Submission submission =
          FlinkRestClient.Submission.of(entryClass, args)
              .withParallelism(parallelism)
              .fromSavepoint(savepoint, allowNonRestoredState);
      if (jobId != null && flink.known(id)) {
        spec.commandLine()
            .getErr()
            .printf("job %s is already submitted (%s); nothing started%n", id, flink.state(id));
        spec.commandLine().getErr().flush();
      } else if (keepJar) {
        flink.run(flink.uploadJar(jar), submission, id);
      } else {
        flink.submit(jar, submission, id);
      }
      PrintWriter out = spec.commandLine().getOut();
      out.println(id);
      out.flush();
      return 0;
    }
  }

  @Command(
      name = "wait",
      mixinStandardHelpOptions = true,
      description =
          "Wait until a job reaches a state (exit 0), ends otherwise (exit 1, with Flink's root"
              + " exception) or the timeout passes (exit 1).")
  static final class Wait implements Callable<Integer> {
    @Spec CommandSpec spec;
    @picocli.CommandLine.Mixin Rest rest;

    @Parameters(paramLabel = "JOB", description = "The job id.")
    String job;

    @Option(
        names = "--state",
        defaultValue = "FINISHED",
        description = "RUNNING (every task running) or FINISHED (default: ${DEFAULT-VALUE}).")
    String state;

    @Option(
        names = "--timeout",
        defaultValue = "180s",
        description = "How long to wait (default: ${DEFAULT-VALUE}).")
    String timeout;

    @Override
    public Integer call() throws InterruptedException {
      if (!state.equals("RUNNING") && !state.equals("FINISHED")) {
        throw new ParameterException(
            spec.commandLine(), "--state must be RUNNING or FINISHED, got " + state);
      }
      Duration limit = Durations.parse("--timeout", timeout); // bad: exit 2 (TallyCli)
      FlinkRestClient flink = rest.client();
      boolean untilRunning = state.equals("RUNNING");
      JobState[] last = {null};
      Poll.until(
          "job " + job + " " + (untilRunning ? "RUNNING with every task running" : "FINISHED"),
          limit,
          Duration.ofMillis(500),
          () -> {
            FlinkRestClient.JobDetails details = flink.job(job);
            last[0] = details.state();
            if (untilRunning ? details.allTasksRunning() : details.state() == JobState.FINISHED) {
              return details;
            }
            if (details.state().isGloballyTerminal()) {
              String root = flink.rootException(job);
              throw new IllegalStateException(
                  "job "
                      + job
                      + " ended "
                      + details.state()
                      + (root == null ? "" : ": " + root.lines().findFirst().orElse("")));
            }
            return null;
          },
          () -> last[0] == null ? null : last[0].name());
      spec.commandLine().getOut().printf("job %s %s%n", job, state);
      spec.commandLine().getOut().flush();
      return 0;
    }
  }

  @Command(
      name = "list",
      mixinStandardHelpOptions = true,
      description =
          "The jobs the cluster knows, newest first: id, state, name (GET /jobs/overview).")
  static final class ListJobs implements Callable<Integer> {
    @Spec CommandSpec spec;
    @picocli.CommandLine.Mixin Rest rest;

    @Option(names = "--running", description = "Only RUNNING jobs.")
    boolean running;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      for (FlinkRestClient.Job job : rest.client().jobs()) {
        if (!running || job.state() == JobState.RUNNING) {
          out.printf("%s  %-12s %s%n", job.id(), job.state(), job.name());
        }
      }
      out.flush();
      return 0;
    }
  }

  @Command(
      name = "args",
      mixinStandardHelpOptions = true,
      description = {
        "The arguments a Tally projection job published (tally.args in its job config), quoted"
            + " for a shell: to resubmit it by hand, e.g. from a savepoint with tally flink submit"
            + " --from-savepoint PATH … -- ARGS.",
        "Secrets given inline print as <redacted>; a job that has ended is read from the"
            + " cluster's memory of it while it lasts."
      })
  static final class Args implements Callable<Integer> {
    @Spec CommandSpec spec;
    @picocli.CommandLine.Mixin Rest rest;

    @Parameters(paramLabel = "JOB", description = "The job id.")
    String job;

    @Override
    public Integer call() {
      JobArguments args = JobArguments.fromParameters(rest.client().userConfig(job), job);
      PrintWriter out = spec.commandLine().getOut();
      out.println(
          args.list().stream().map(Args::quoted).collect(java.util.stream.Collectors.joining(" ")));
      out.flush();
      return 0;
    }

    /** One argument as a POSIX shell reads it back. */
    static String quoted(String arg) {
      return arg.matches("[A-Za-z0-9_./:=,@+-]+") ? arg : "'" + arg.replace("'", "'\\''") + "'";
    }
  }

  @Command(
      name = "cancel",
      mixinStandardHelpOptions = true,
      description =
          "Cancel a job without a savepoint and wait until it is CANCELED (a job that has already"
              + " ended is left as it is).")
  static final class Cancel implements Callable<Integer> {
    @Spec CommandSpec spec;
    @picocli.CommandLine.Mixin Rest rest;

    @Parameters(paramLabel = "JOB", description = "The job id.")
    String job;

    @Option(
        names = "--timeout",
        defaultValue = "60s",
        description = "How long to wait for the job to end (default: ${DEFAULT-VALUE}).")
    String timeout;

    @Override
    public Integer call() throws InterruptedException {
      Duration limit = Durations.parse("--timeout", timeout); // bad: exit 2 (TallyCli)
      FlinkRestClient flink = rest.client();
      JobState before = flink.state(job);
      if (!before.isGloballyTerminal()) {
        flink.cancel(job);
      }
      JobState after =
          Poll.until(
              "job " + job + " ended",
              limit,
              Duration.ofMillis(250),
              () -> {
                JobState now = flink.state(job);
                return now.isGloballyTerminal() ? now : null;
              });
      spec.commandLine().getOut().printf("job %s %s%n", job, after);
      spec.commandLine().getOut().flush();
      return 0;
    }
  }

  @Command(
      name = "stop",
      mixinStandardHelpOptions = true,
      description =
          "Stop a job with a savepoint (POST /jobs/<id>/stop, no drain) and print the savepoint's"
              + " path; if the savepoint fails the job keeps running (exit 1, Flink's reason).")
  static final class Stop implements Callable<Integer> {
    @Spec CommandSpec spec;
    @picocli.CommandLine.Mixin Rest rest;

    @Parameters(paramLabel = "JOB", description = "The job id.")
    String job;

    @Option(
        names = "--savepoint-dir",
        description = "Where the savepoint goes (default: the cluster's savepoint directory).")
    String savepointDir;

    @Option(
        names = "--timeout",
        defaultValue = "5min",
        description = "How long to wait for the savepoint (default: ${DEFAULT-VALUE}).")
    String timeout;

    @Override
    public Integer call() {
      Duration limit = Durations.parse("--timeout", timeout); // bad: exit 2 (TallyCli)
      String savepoint = rest.client().stopWithSavepoint(job, savepointDir, limit);
      spec.commandLine().getOut().println(savepoint);
      spec.commandLine().getOut().flush();
      return 0;
    }
  }

  @Command(
      name = "metric",
      mixinStandardHelpOptions = true,
      description =
          "The sum of a job's subtask metrics whose id matches a regular expression, over every"
              + " vertex and subtask (e.g. '\\.tally\\.duplicatesDropped$').")
  static final class Metric implements Callable<Integer> {
    @Spec CommandSpec spec;
    @picocli.CommandLine.Mixin Rest rest;

    @Parameters(index = "0", paramLabel = "JOB", description = "The job id.")
    String job;

    @Parameters(index = "1", paramLabel = "REGEX", description = "Metric ids to sum.")
    String regex;

    @Override
    public Integer call() {
      Pattern pattern;
      try {
        pattern = Pattern.compile(regex);
      } catch (PatternSyntaxException e) {
        throw new ParameterException(
            spec.commandLine(),
            "REGEX '" + regex + "' is not a regular expression: " + e.getDescription());
      }
      FlinkRestClient flink = rest.client();
      double total = 0;
      for (FlinkRestClient.Vertex vertex : flink.vertices(job)) {
        List<String> ids =
            flink.metricIds(job, vertex.id()).stream()
                .filter(id -> pattern.matcher(id).find())
                .toList();
        for (double value : flink.subtaskMetrics(job, vertex.id(), ids, "sum").values()) {
          total += value;
        }
      }
      spec.commandLine().getOut().printf("%.0f%n", total);
      spec.commandLine().getOut().flush();
      return 0;
    }
  }

  @Command(
      name = "records",
      mixinStandardHelpOptions = true,
      description = "The most records any vertex of a job read (read-records).")
  static final class Records implements Callable<Integer> {
    @Spec CommandSpec spec;
    @picocli.CommandLine.Mixin Rest rest;

    @Parameters(paramLabel = "JOB", description = "The job id.")
    String job;

    @Override
    public Integer call() {
      long most =
          rest.client().recordsRead(job).values().stream()
              .mapToLong(Long::longValue)
              .max()
              .orElse(0);
      spec.commandLine().getOut().println(most);
      spec.commandLine().getOut().flush();
      return 0;
    }
  }
}
