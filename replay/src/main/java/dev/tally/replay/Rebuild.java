package dev.tally.replay;

import dev.tally.common.flink.JobArguments;
import dev.tally.common.flink.ProjectionContract;
import dev.tally.common.replay.Generations;
import dev.tally.common.replay.Position;
import dev.tally.common.replay.ReplayRange;
import java.time.Duration;

/**
 * {@code tally replay rebuild}: a fresh job (empty state) reads {@code from}..{@code to} into a new
 * generation while the live one keeps serving.
 */
public final class Rebuild {

  /**
   * What to rebuild.
   *
   * @param to null: continuous (the job follows the log; cutover can switch to it)
   * @param generation 0: the next one above every generation either store or a running job knows
   * @param readyLag events behind the log that count as caught up (continuous)
   * @param parallelism 0: the live job's
   * @param checkpointInterval null: the live job's
   * @param await whether to wait until the range is read (bounded) or caught up (continuous)
   */
  public record Request(
      Position from,
      Position to,
      int generation,
      long readyLag,
      int parallelism,
      Duration checkpointInterval,
      boolean await) {}

  /**
   * @param servedBefore the generation readers are served (unchanged by a rebuild)
   * @param finished the bounded job has finished: the generation holds the range
   */
  public record Result(
      String jobId, int generation, int servedBefore, ReplayRange range, boolean finished) {}

  private final ReplaySession session;

  public Rebuild(ReplaySession session) {
    this.session = session;
  }

  public Result run(TallyJob live, Request request) {
    return session.underLease(live, "rebuild", () -> rebuild(live, request));
  }

  private Result rebuild(TallyJob live, Request request) {
    live.requireRestartable("rebuild");
    int served;
    int generation = request.generation();
    try (Generations generations = session.stores().generations(live)) {
      served = generations.servedInValkey();
      // Above everything either store knows of (retired generations, rows left behind) and every
      // running job's.
      int highest = generations.highestKnown();
      for (TallyJob job : session.jobs().running()) {
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
    ReplayRange range =
        new Plan(session)
            .run(
                live.topics(),
                session.stores().bootstrap(live),
                live,
                request.from(),
                request.to());
    JobArguments args =
        live.args()
            .without(ProjectionContract.SOURCE_ID)
            .with(ProjectionContract.GENERATION, Integer.toString(generation))
            .with(ProjectionContract.START, range.startSpec())
            .with(ProjectionContract.GROUP_ID, live.options().groupId() + "-g" + generation);
    args =
        range.bounded()
            ? args.with(ProjectionContract.STOP, range.endSpec())
            : args.without(ProjectionContract.STOP);
    if (request.checkpointInterval() != null) {
      args =
          args.with(
              ProjectionContract.CHECKPOINT_INTERVAL,
              request.checkpointInterval().toMillis() + "ms");
    }
    JobControl control = session.control();
    String jobId =
        control.submit(JobControl.withParallelism(args, request.parallelism()), null, false);
    session.say(
        "rebuild job %s writes generation %d (readers stay on %d)", jobId, generation, served);
    boolean finished = false;
    if (request.await()) {
      if (range.bounded()) {
        control.follow(jobId, live.topics(), range.start(), range::end, 0, true);
        finished = true;
      } else {
        control.follow(
            jobId,
            live.topics(),
            range.start(),
            () -> session.stores().endOffsets(live),
            request.readyLag(),
            false);
      }
    }
    return new Result(jobId, generation, served, range, finished);
  }
}
