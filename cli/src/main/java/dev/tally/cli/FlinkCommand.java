package dev.tally.cli;

import dev.tally.common.flink.FlinkRestClient;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
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
    description = "Flink's REST API for scripts: submit, wait, metric, records.",
    subcommands = {
      FlinkCommand.Submit.class,
      FlinkCommand.Wait.class,
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
          "Upload a job jar and run a class of it (POST /jars/upload, /jars/<id>/run); prints the"
              + " job id. Arguments after -- go to the job.")
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
        names = "--delete-jar",
        description = "Delete the uploaded jar once the job is submitted.")
    boolean deleteJar;

    @Parameters(paramLabel = "ARG", description = "The job's arguments.")
    List<String> args = new ArrayList<>();

    @Override
    public Integer call() {
      if (!Files.isReadable(jar)) {
        throw new ParameterException(
            spec.commandLine(), "--jar " + jar + " is not a readable file");
      }
      FlinkRestClient flink = rest.client();
      String jarId = flink.uploadJar(jar);
      String jobId = flink.run(jarId, entryClass, args, parallelism);
      if (deleteJar) {
        flink.deleteJar(jarId);
      }
      PrintWriter out = spec.commandLine().getOut();
      out.println(jobId);
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
      Duration limit;
      try {
        limit = Durations.parse("--timeout", timeout);
      } catch (IllegalArgumentException e) {
        throw new ParameterException(spec.commandLine(), e.getMessage());
      }
      FlinkRestClient flink = rest.client();
      long deadline = System.nanoTime() + limit.toNanos();
      String now = "";
      while (System.nanoTime() < deadline) {
        now = flink.state(job);
        if (state.equals("RUNNING") ? flink.allTasksRunning(job) : now.equals("FINISHED")) {
          spec.commandLine().getOut().printf("job %s %s%n", job, state);
          spec.commandLine().getOut().flush();
          return 0;
        }
        if (now.equals("FAILED") || now.equals("CANCELED") || now.equals("FINISHED")) {
          String root = flink.rootException(job);
          throw new IllegalStateException(
              "job "
                  + job
                  + " ended "
                  + now
                  + (root == null ? "" : ": " + root.lines().findFirst().orElse("")));
        }
        Thread.sleep(500);
      }
      throw new IllegalStateException("job " + job + " still " + now + " after " + timeout);
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
