package dev.tally.replay;

import dev.tally.common.replay.GenerationComparison;
import dev.tally.common.replay.Generations;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;

/**
 * {@code tally replay compare}: the served generation against another, entry by entry (key counts,
 * checksums, values), with nothing stopped or switched: both jobs keep running, so differences
 * still in flight are looked at again until they settle or {@code settle} passes.
 */
public final class Compare {

  /** The two generations and what the comparison found. */
  public record Result(int served, int other, GenerationComparison comparison) {
    public boolean clean() {
      return comparison.clean();
    }
  }

  private final ReplaySession session;

  public Compare(ReplaySession session) {
    this.session = session;
  }

  /**
   * @param generation the one to compare with; 0: the newest running job's other than the live one
   */
  public Result run(TallyJob live, int generation, Duration settle) {
    int other = generation != 0 ? generation : session.jobs().next(live, 0).generation();
    try (Generations generations = session.stores().generations(live)) {
      int served = generations.servedInValkey();
      if (other == served) {
        throw new IllegalArgumentException(
            "generation " + other + " is the served one; compare it with another (--generation)");
      }
      GenerationComparison comparison = Verification.compare(generations, served, other, settle);
      StringWriter table = new StringWriter();
      comparison.print(new PrintWriter(table));
      table.toString().lines().forEach(line -> session.say("%s", line));
      return new Result(served, other, comparison);
    }
  }
}
