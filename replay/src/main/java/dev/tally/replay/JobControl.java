package dev.tally.replay;

import dev.tally.common.flink.FlinkRestClient;
import dev.tally.common.flink.JobArguments;
import dev.tally.common.flink.JobState;
import dev.tally.common.flink.ProjectionContract;
import dev.tally.common.wait.Poll;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.apache.kafka.common.TopicPartition;

/**
 * What a replay does to jobs: upload the projection jar (once, before anything is stopped; deleted
 * on {@link #close()}), submit, stop with a savepoint, restart from one, and follow a job's read
 * positions until it has read a range.
 */
public final class JobControl implements AutoCloseable {

  /** The projection job's entry class in the jar. */
  public static final String ENTRY_CLASS = ProjectionContract.ENTRY_CLASS;

  private final FlinkRestClient flink;
  private final ReplaySettings settings;
  private final ReplayListener listener;
  private String uploadedJar;

  JobControl(FlinkRestClient flink, ReplaySettings settings, ReplayListener listener) {
    this.flink = flink;
    this.settings = settings;
    this.listener = listener;
  }

  /**
   * A replay's {@code --parallelism}: 0 keeps the live job's, else 1 … {@link
   * JobArguments#MAX_PARALLELISM}.
   */
  public static void requireParallelism(int parallelism) {
    if (parallelism < 0 || parallelism > JobArguments.MAX_PARALLELISM) {
      throw new IllegalArgumentException(
          "--parallelism must be between 1 and "
              + JobArguments.MAX_PARALLELISM
              + " (the job's key groups; 0 = the live job's), got "
              + parallelism);
    }
  }

  static JobArguments withParallelism(JobArguments args, int parallelism) {
    return parallelism > 0
        ? args.with(ProjectionContract.PARALLELISM, Integer.toString(parallelism))
        : args;
  }

  /** Uploads the job jar once; done before any job is stopped, so a missing jar stops nothing. */
  String uploadJar() {
    if (uploadedJar == null) {
      if (!Files.isRegularFile(settings.jar())) {
        throw new IllegalArgumentException(
            "job jar " + settings.jar() + " not found; build it (make build) or pass --jar");
      }
      uploadedJar = flink.uploadJar(settings.jar());
    }
    return uploadedJar;
  }

  /** Runs the projection job with {@code args}; its id (chosen before the run: idempotent). */
  String submit(JobArguments args, String savepoint, boolean allowNonRestored) {
    return flink.run(
        uploadJar(),
        FlinkRestClient.Submission.of(ENTRY_CLASS, args.list())
            .fromSavepoint(savepoint, allowNonRestored));
  }

  /**
   * Restarts a stopped job from its savepoint with its own arguments. Its sources keep their uids
   * and restore their offsets from the savepoint, so {@code --start} does not apply: it is set to
   * {@code committed}, which needs no broker check (explicit offsets it was started with may have
   * left the retained range since).
   */
  String restart(TallyJob job, String savepoint) {
    return restart(job.id(), job.args(), savepoint);
  }

  /** {@link #restart(TallyJob, String)} for stopped job {@code jobId} with {@code args}. */
  String restart(String jobId, JobArguments args, String savepoint) {
    try {
      return submit(
          args.with(ProjectionContract.START, ProjectionContract.START_COMMITTED),
          savepoint,
          false);
    } catch (RuntimeException e) {
      throw new IllegalStateException(
          "job "
              + jobId
              + " is stopped and could not be restarted ("
              + e.getMessage()
              + "): run the jar's "
              + ENTRY_CLASS
              + " from savepoint "
              + savepoint
              + " with its arguments: "
              + args,
          e);
    }
  }

  /**
   * Stops a job with a savepoint once all its tasks run (Flink refuses a savepoint before), saying
   * so; the savepoint's path.
   */
  String stopWithSavepoint(TallyJob job, String what) {
    listener.say("stopping " + what + " with a savepoint …");
    for (int attempt = 1; ; attempt++) {
      awaitTasksRunning(job.id());
      try {
        String savepoint =
            flink.stopWithSavepoint(job.id(), settings.savepointDir(), settings.timeout());
        listener.say("savepoint: " + savepoint);
        return savepoint;
      } catch (FlinkRestClient.FlinkRestException e) {
        // A declined savepoint leaves the job running (it restarts its tasks): Flink declines
        // one now and then when a source vertex's subtasks stop a moment apart. Try again.
        JobState state = flink.state(job.id());
        if (attempt == STOP_ATTEMPTS || state.isGloballyTerminal()) {
          throw e;
        }
        listener.say(
            "the savepoint failed ("
                + e.getMessage()
                + "); the job is "
                + state
                + ", trying again once its tasks run ("
                + (attempt + 1)
                + " of "
                + STOP_ATTEMPTS
                + ")");
      }
    }
  }

  /** Cancels a job and waits until it has ended. */
  void cancel(TallyJob job) {
    listener.say("cancelling " + job + " …");
    flink.cancel(job.id());
    try {
      Poll.until(
          "job " + job.id() + " ended",
          settings.timeout(),
          Duration.ofMillis(250),
          () -> flink.state(job.id()).isGloballyTerminal() ? Boolean.TRUE : null,
          () -> flink.state(job.id()).name());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  /** Stop-with-savepoint attempts before a replay gives up (the job keeps running). */
  static final int STOP_ATTEMPTS = 3;

  /** A job just (re)started takes no savepoint until its tasks run: wait for them. */
  void awaitTasksRunning(String jobId) {
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

  /**
   * Reports progress until every partition's read position reaches {@code target} minus {@code
   * allowedLag} events in total, or (bounded) the job finished.
   */
  void follow(
      String jobId,
      List<String> topics,
      Map<TopicPartition, Long> start,
      Supplier<Map<TopicPartition, Long>> target,
      long allowedLag,
      boolean untilFinished) {
    ReplayProgress progress = new ReplayProgress(flink, jobId, topics, listener);
    long[] left = {-1};
    try {
      Poll.until(
          "job "
              + jobId
              + (untilFinished ? " FINISHED" : " within " + allowedLag + " events of its target")
              + " (--timeout; it keeps running)",
          settings.timeout(),
          settings.progressInterval(),
          () -> {
            JobState state = flink.state(jobId);
            if (untilFinished && state == JobState.FINISHED) {
              listener.say("job " + jobId + " finished: the bounded range is read and written");
              return Boolean.TRUE;
            }
            if (state.isGloballyTerminal()
                || state.isEndingBadly()
                || state == JobState.SUSPENDED) {
              throw new IllegalStateException(
                  "job "
                      + jobId
                      + " is "
                      + state
                      + "; see "
                      + settings.flinkUrl()
                      + "/#/job/"
                      + jobId);
            }
            left[0] = progress.report(start, target.get());
            return !untilFinished && left[0] <= allowedLag && !progress.positions().isEmpty()
                ? Boolean.TRUE
                : null;
          },
          () -> left[0] < 0 ? null : String.format("%,d events still to read", left[0]));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  /** Where the job's sources are now (partitions not reported yet are absent). */
  Map<TopicPartition, Long> positions(TallyJob job) {
    return new ReplayProgress(flink, job.id(), job.topics(), ReplayListener.quiet()).positions();
  }

  /** Deletes the job jar this replay uploaded (the jobs it started keep running). */
  @Override
  public void close() {
    if (uploadedJar != null) {
      try {
        flink.deleteJar(uploadedJar);
      } catch (FlinkRestClient.FlinkRestException e) {
        listener.say(
            "note: the uploaded jar " + uploadedJar + " was not deleted: " + e.getMessage());
      }
      uploadedJar = null;
    }
  }
}
