package dev.tally.replay;

/**
 * {@code tally replay rescale}: stops the live job with a savepoint and restarts it from there at
 * another parallelism: the same arguments, the same operator uids, sources at their saved offsets;
 * Flink redistributes the keyed state (dedup ids, user records, standings) over the new subtasks.
 */
public final class Rescale {

  /** The restarted job, the savepoint it restored, its parallelism. */
  public record Result(String jobId, String savepoint, int parallelism) {}

  private final ReplaySession session;

  public Rescale(ReplaySession session) {
    this.session = session;
  }

  public Result run(TallyJob live, int parallelism) {
    return session.underLease(live, "rescale", () -> rescale(live, parallelism));
  }

  private Result rescale(TallyJob live, int parallelism) {
    live.requireRestartable("rescale");
    if (parallelism < 1) {
      throw new IllegalArgumentException("--parallelism must be >= 1, got " + parallelism);
    }
    JobControl control = session.control();
    control.uploadJar();
    String savepoint = control.stopWithSavepoint(live, live.toString());
    TallyJob rescaled =
        new TallyJob(
            live.id(),
            live.name(),
            live.options(),
            JobControl.withParallelism(live.args(), parallelism));
    String jobId = control.restart(rescaled, savepoint);
    control.awaitTasksRunning(jobId);
    return new Result(jobId, savepoint, parallelism);
  }
}
