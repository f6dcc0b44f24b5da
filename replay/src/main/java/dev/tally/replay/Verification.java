package dev.tally.replay;

import dev.tally.common.replay.GenerationComparison;
import dev.tally.common.replay.Generations;
import dev.tally.common.wait.Poll;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.util.Set;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * A cutover's two comparisons of the live generation with the next: every entry while both jobs
 * run, then, after the live job's stop, only the entries that changed since (every entry again when
 * the changes could not be heard in full, or when the first comparison was not clean). Each looks
 * again for a while: the last events read may still be on their way to Valkey. Prints each table it
 * found differences in, and the last one.
 */
final class Verification {

  /**
   * @param recompared entries compared after the stop; -1 when every entry was
   */
  record Outcome(GenerationComparison comparison, int recompared) {}

  private static final Duration BARRIER_TIMEOUT = Duration.ofSeconds(10);

  private final ReplaySession session;
  private final Generations generations;
  private final int live;
  private final int next;

  Verification(ReplaySession session, Generations generations, int live, int next) {
    this.session = session;
    this.generations = generations;
    this.live = live;
    this.next = next;
  }

  /** Every entry, both jobs running; printed. */
  GenerationComparison beforeStop(Duration timeout) {
    session.say("comparing every entry of generations %d and %d, both jobs running …", live, next);
    GenerationComparison before = compare(generations, live, next, timeout);
    say(before);
    return before;
  }

  /**
   * Once the live job has stopped and the next has read past where it stopped: both wrote what they
   * read, and a ping answered through the subscription says every announcement of it has been heard
   * too. Only what {@code before} found equal may be skipped.
   */
  Outcome afterStop(GenerationComparison before, ChangedEntries changes, Duration timeout) {
    Outcome outcome;
    if (before.clean() && changes.heardAllPublished(BARRIER_TIMEOUT)) {
      Set<String> changed = changes.keys();
      if (changed.isEmpty()) {
        session.say("nothing changed in either generation since the first comparison");
        return new Outcome(before, 0);
      }
      session.say(
          "comparing again the %,d entries of generation %d that changed since the first comparison …",
          changed.size(), live);
      outcome =
          new Outcome(
              settle(
                  timeout,
                  () -> GenerationComparison.compareEntries(generations, live, next, changed),
                  GenerationComparison::clean),
              changed.size());
    } else {
      session.say(
          "comparing every entry again (%s) …",
          before.clean() ? "the changes could not be heard in full" : "they differed before");
      outcome = new Outcome(compare(generations, live, next, timeout), -1);
    }
    say(outcome.comparison());
    return outcome;
  }

  private void say(GenerationComparison comparison) {
    StringWriter table = new StringWriter();
    comparison.print(new PrintWriter(table));
    table.toString().lines().forEach(line -> session.say("%s", line));
  }

  /** Every entry of both generations, looked at again until equal or {@code timeout}. */
  static GenerationComparison compare(
      Generations generations, int live, int next, Duration timeout) {
    return settle(
        timeout,
        () -> GenerationComparison.compare(generations, live, next),
        GenerationComparison::clean);
  }

  static <T> T settle(Duration timeout, Supplier<T> look, Predicate<T> done) {
    try {
      return Poll.settle(timeout, Duration.ofSeconds(1), look, done);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }
}
