package dev.tally.replay;

import dev.tally.common.replay.CutoverRecord;
import dev.tally.common.replay.Generations;

/**
 * {@code tally replay rollback}: brings back the generation the last cutover retired, while it
 * still exists: restarts its job from the savepoint taken at the cutover, then switches as a
 * cutover does.
 */
public final class Rollback {

  /** The previous generation's restarted job and the switch back to it. */
  public record Result(String restartedJob, Cutover.Result cutover) {}

  private final ReplaySession session;

  public Rollback(ReplaySession session) {
    this.session = session;
  }

  public Result run(TallyJob current, Cutover.Options options) {
    return session.underLease(current, "rollback", () -> rollBack(current, options));
  }

  private Result rollBack(TallyJob current, Cutover.Options options) {
    CutoverRecord last;
    try (Generations generations = session.stores().generations(current)) {
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
      if (generations.retirement().retiredUntil(last.from()) == null) {
        throw new IllegalStateException(
            "generation " + last.from() + " has expired (or was never retired); rebuild instead");
      }
    }
    int previous = last.from();
    for (TallyJob job : session.jobs().running()) {
      if (job.generation() == previous) {
        throw new IllegalStateException(
            "job "
                + job
                + " already writes generation "
                + previous
                + "; cancel it first (rollback restarts that generation's job from its savepoint)");
      }
    }
    TallyJob.requireRestartable(last.fromJob(), last.fromArgs(), "roll back");
    // Keep its keys from expiring while its job catches up.
    try (Generations generations = session.stores().generations(current)) {
      generations.retirement().restore(previous);
    }
    session.say("restarting generation %d's job from %s …", previous, last.fromSavepoint());
    String restarted =
        session.control().restart(last.fromJob(), last.fromArgs(), last.fromSavepoint());
    session.control().awaitTasksRunning(restarted);
    TallyJob previousJob = session.jobs().byId(restarted);
    return new Result(restarted, new Cutover(session).switchOver(current, previousJob, options));
  }
}
