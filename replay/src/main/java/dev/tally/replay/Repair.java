package dev.tally.replay;

import dev.tally.common.flink.JobArguments;
import dev.tally.common.flink.ProjectionContract;
import dev.tally.common.replay.Position;
import dev.tally.common.replay.ReplayRange;
import java.util.concurrent.ThreadLocalRandom;

/**
 * {@code tally replay repair}: stops the live job with a savepoint and restarts it from there with
 * its sources at {@code from}: dedup state skips what was applied, missed events change the views.
 */
public final class Repair {

  /** The repair job (the live job from now on), the savepoint it restored, the range it reads. */
  public record Result(String jobId, String savepoint, ReplayRange range, boolean readTheRange) {}

  private final ReplaySession session;

  public Repair(ReplaySession session) {
    this.session = session;
  }

  /**
   * @param parallelism 0: the live job's
   * @param wait whether to wait until the range is read
   */
  public Result run(TallyJob live, Position from, int parallelism, boolean wait) {
    return session.underLease(live, "repair", () -> repair(live, from, parallelism, wait));
  }

  private Result repair(TallyJob live, Position from, int parallelism, boolean wait) {
    live.requireRestartable("repair");
    JobControl control = session.control();
    ReplayRange range =
        new Plan(session).run(live.topics(), session.stores().bootstrap(live), live, from, null);
    control.uploadJar();
    String savepoint = control.stopWithSavepoint(live, live.toString());
    JobArguments args =
        JobControl.withParallelism(
            live.args()
                .with(ProjectionContract.START, range.startSpec())
                .with(ProjectionContract.SOURCE_ID, sourceId(live.options().sourceId())),
            parallelism);
    String jobId;
    try {
      jobId = control.submit(args, savepoint, true);
    } catch (RuntimeException e) {
      throw new IllegalStateException(
          "the repair job did not start ("
              + e.getMessage()
              + "); the live job is stopped: restart it from "
              + savepoint
              + " (tally replay status shows what runs)",
          e);
    }
    session.say(
        "repair job %s restored from the savepoint (dedup and view state kept), sources at the"
            + " plan's start",
        jobId);
    if (wait) {
      control.follow(jobId, live.topics(), range.start(), range::end, 0, false);
    }
    return new Result(jobId, savepoint, range, wait);
  }

  /**
   * A lane source id no job has used: the repair job's sources must not find their state in the
   * live job's savepoint, or they resume at the saved offsets and re-read nothing. Made of the time
   * in milliseconds and a random part (two repairs within one millisecond still differ), and never
   * the live job's own id.
   */
  static String sourceId(String current) {
    String id;
    do {
      id =
          "repair-"
              + Long.toString(System.currentTimeMillis(), 36)
              + "-"
              + Long.toString(ThreadLocalRandom.current().nextLong(1L << 40), 36);
    } while (id.equals(current));
    return id;
  }
}
