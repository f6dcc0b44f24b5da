package dev.tally.replay;

import dev.tally.common.replay.CutoverRecord;
import dev.tally.common.replay.Generations;
import dev.tally.common.replay.Retirement;
import java.util.List;
import java.util.Optional;

/**
 * {@code tally replay discard}: throws away a generation no reader is served — a rebuild not
 * wanted, or a retired generation no longer needed for a rollback: cancels the jobs writing it,
 * deletes its Valkey keys and its PostgreSQL rows. Refused for the served generation, and (unless
 * {@code force}) for the generation the last cutover retired while a rollback to it is possible.
 */
public final class Discard {

  /**
   * The jobs cancelled, the keys and rows deleted.
   *
   * @param rollbackForgotten the last cutover's record went too (it would roll back to this one)
   */
  public record Result(
      int generation,
      List<String> cancelledJobs,
      int valkeyKeys,
      int rows,
      boolean rollbackForgotten) {}

  private final ReplaySession session;

  public Discard(ReplaySession session) {
    this.session = session;
  }

  /**
   * @param live the live job (its stores hold the generation)
   */
  public Result run(TallyJob live, int generation, boolean force) {
    return session.underLease(live, "discard", () -> discard(live, generation, force));
  }

  private Result discard(TallyJob live, int generation, boolean force) {
    if (generation == live.generation()) {
      throw new IllegalStateException(
          "generation " + generation + " is the live job's (" + live + "): it cannot be discarded");
    }
    try (Generations generations = session.stores().generations(live)) {
      Optional<CutoverRecord> last = CutoverRecord.load(generations.valkeyClient());
      if (!force
          && last.isPresent()
          && last.get().from() == generation
          && generations.retirement().retiredUntil(generation) != null) {
        throw new IllegalStateException(
            "generation "
                + generation
                + " is the one the last cutover retired; tally replay rollback needs it until "
                + generations.retirement().retiredUntil(generation)
                + ". Use --force to discard it anyway");
      }
      // Refuses the served generation before any job is touched.
      if (generations.servedInValkey() == generation
          || Integer.valueOf(generation).equals(generations.servedInPostgres())) {
        throw new IllegalStateException(
            "generation " + generation + " is served to readers: it cannot be discarded");
      }
      List<TallyJob> writers = session.jobs().notEnded(generation);
      for (TallyJob job : writers) {
        session.control().cancel(job);
      }
      session.say("deleting generation %d's Valkey keys and PostgreSQL rows …", generation);
      Retirement.Discarded deleted = generations.retirement().discard(generation);
      // A rollback to it would serve a generation that is gone.
      boolean forgotten = last.isPresent() && last.get().from() == generation;
      if (forgotten) {
        CutoverRecord.delete(generations.valkeyClient());
      }
      return new Result(
          generation,
          writers.stream().map(TallyJob::id).toList(),
          deleted.valkeyKeys(),
          deleted.postgresRows(),
          forgotten);
    }
  }
}
