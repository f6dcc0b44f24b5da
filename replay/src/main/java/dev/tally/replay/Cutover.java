package dev.tally.replay;

import dev.tally.common.replay.CutoverRecord;
import dev.tally.common.replay.GenerationComparison;
import dev.tally.common.replay.Generations;
import dev.tally.common.views.CacheWarmer;
import dev.tally.common.views.ViewKeys;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.common.TopicPartition;

/**
 * {@code tally replay cutover}: switches readers from the live generation to {@code next}'s. Waits
 * until next has caught up and compares the two while both jobs run (a difference refuses the
 * cutover before anything stops); then stops the live job with a savepoint (its generation is then
 * frozen), waits until next has read past where it stopped, compares again only the entries that
 * changed since the first comparison (heard on the invalidation channel; every entry when that
 * could not be heard in full), flips both stores, and retires the old generation (its keys expire
 * after {@code grace}). The live generation is frozen for readers only from the stop to the flip:
 * {@link Result#frozen()}. Refused on a difference unless {@code force}; on a refusal or any
 * failure before Valkey has flipped, the live job is restarted from its savepoint and nothing
 * changed for readers.
 */
public final class Cutover {

  /**
   * How to switch.
   *
   * @param force switch even when the comparison shows differences (or the cache is incomplete)
   * @param grace how long the old generation is kept for a rollback
   * @param readyLag events behind the log that count as caught up
   * @param verifyTimeout how long differences (and an incomplete cache) may take to settle
   */
  public record Options(boolean force, Duration grace, long readyLag, Duration verifyTimeout) {}

  /**
   * @param savepoint the old job's, kept in the {@link CutoverRecord} for a rollback
   * @param retiredKeys the old generation's Valkey keys, expiring at {@code retiredUntil}
   * @param purgedRows expired PostgreSQL rows of older retired generations, deleted now
   * @param frozen from the live job's stop to the switch: how long readers saw no updates
   * @param recompared entries compared again after the stop; -1 when every entry was (the changes
   *     could not be heard in full)
   */
  public record Result(
      int from,
      int to,
      String savepoint,
      GenerationComparison comparison,
      int retiredKeys,
      Instant retiredUntil,
      int purgedRows,
      Duration frozen,
      int recompared) {}

  /** Why a cutover did not switch, when nothing failed. */
  static final class Refused extends RuntimeException {
    private static final long serialVersionUID = 1L;

    Refused(String message) {
      super(message);
    }
  }

  private final ReplaySession session;

  public Cutover(ReplaySession session) {
    this.session = session;
  }

  /**
   * @param generation the one to serve; 0: the newest running job's other than the live one
   */
  public Result run(TallyJob live, int generation, Options options) {
    // Under the lease before anything is looked up: a second replay is refused as such.
    return session.underLease(
        live, "cutover", () -> switchOver(live, session.jobs().next(live, generation), options));
  }

  /** The switch, for a caller that holds the lease already (a rollback). */
  Result switchOver(TallyJob live, TallyJob next, Options options) {
    // A refused cutover restarts the live job: it must be restartable before it is stopped.
    live.requireRestartable("cut over");
    JobControl control = session.control();
    ReplayStores stores = session.stores();
    int from = live.generation();
    int to = next.generation();
    try (Generations generations = stores.generations(live)) {
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
      session.say("waiting for generation %d (%s) to catch up …", to, next.id());
      control.follow(
          next.id(),
          next.topics(),
          Map.of(),
          () -> stores.endOffsets(live),
          options.readyLag(),
          false);
      // Its readers would read PostgreSQL while its cache is incomplete: wait (or refuse) before
      // anything is stopped.
      if (servedInPostgres != null) {
        awaitCacheComplete(generations, to, options.verifyTimeout(), options.force());
      }
      // Listening from before the first comparison: whatever changes from then on in either
      // generation is what the comparison after the stop looks at again.
      try (ChangedEntries changes = stores.changes(live, from, to)) {
        return compareAndSwitch(live, next, options, generations, changes);
      }
    }
  }

  private Result compareAndSwitch(
      TallyJob live,
      TallyJob next,
      Options options,
      Generations generations,
      ChangedEntries changes) {
    JobControl control = session.control();
    ReplayStores stores = session.stores();
    int from = live.generation();
    int to = next.generation();
    // Compared first while both jobs run: a generation that differs is refused before anything
    // is stopped, so readers of the live generation never see it freeze for a refused switch.
    Verification verification = new Verification(session, generations, from, to);
    GenerationComparison before = verification.beforeStop(options.verifyTimeout());
    if (!before.clean() && !options.force()) {
      throw new IllegalStateException(
          "cutover refused before stopping anything: generation "
              + to
              + " differs from "
              + from
              + " (above) with both jobs running; nothing was stopped or switched. Use"
              + " --force to switch anyway");
    }
    control.uploadJar();
    long stopping = System.nanoTime();
    String savepoint =
        control.stopWithSavepoint(
            live, "the live job " + live + " (generation " + from + " freezes)");
    GenerationComparison comparison;
    int recompared = -1;
    try {
      Map<TopicPartition, Long> frozenAt = stores.endOffsets(live);
      control.follow(next.id(), next.topics(), Map.of(), () -> frozenAt, 0, false);
      // Equal before the stop: what is left are the last events on their way to Valkey. With
      // --force, one look: the live generation is frozen now, so waiting changes nothing of it.
      Verification.Outcome after =
          verification.afterStop(
              before, changes, options.force() ? Duration.ZERO : options.verifyTimeout());
      comparison = after.comparison();
      recompared = after.recompared();
      if (!comparison.clean() && !options.force()) {
        throw new Refused(
            "generation "
                + to
                + " differs from "
                + from
                + " (above). Use --force to switch anyway");
      }
      // The generation about to be served must not expire (it may be a retired one, back).
      generations.retirement().restore(to);
      generations.flipValkey(from, to);
    } catch (RuntimeException e) {
      // Readers stay on the live generation; it resumes once its job is back.
      String restarted = control.restart(live, savepoint);
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
    Duration frozen = Duration.ofNanos(System.nanoTime() - stopping);
    new CutoverRecord(from, to, live.id(), savepoint, live.args(), Instant.now())
        .save(generations.valkeyClient());
    generations.flipPostgres(from, to);
    int keys = generations.retirement().retire(from, options.grace());
    int purged = generations.retirement().purgeExpired();
    return new Result(
        from,
        to,
        savepoint,
        comparison,
        keys,
        generations.retirement().retiredUntil(from),
        purged,
        frozen,
        recompared);
  }

  /**
   * Readers of a generation whose Valkey cache is incomplete read PostgreSQL; the rebuild job marks
   * it complete three checkpoints after it started. Waits for that; refused after {@code timeout}.
   */
  private void awaitCacheComplete(
      Generations generations, int next, Duration timeout, boolean force) {
    Set<Integer> missing = CacheWarmer.incompleteTags(generations.valkeyClient(), next);
    if (!missing.isEmpty()) {
      session.say(
          "waiting for generation %d's Valkey cache to be complete (%d of %d tags unmarked) …",
          next, missing.size(), ViewKeys.TAGS);
      missing =
          Verification.settle(
              timeout,
              () -> CacheWarmer.incompleteTags(generations.valkeyClient(), next),
              Set::isEmpty);
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
}
