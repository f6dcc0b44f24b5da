package dev.tally.common.wait;

import java.time.Duration;
import java.util.function.Supplier;

/**
 * The one way Tally's tools wait for something outside them (a job's state, a cache, a consumer
 * group): ask every {@code interval} until an answer comes or {@code timeout} passes, then fail
 * with what was waited for and what was last seen.
 */
public final class Poll {

  /** One look: the awaited value, or null to keep waiting. */
  @FunctionalInterface
  public interface Check<T> {
    T poll() throws Exception;
  }

  private Poll() {}

  /**
   * Asks {@code check} until it answers non-null.
   *
   * @param what what is awaited, for the error ("job 1f2e… RUNNING with every task")
   * @param lastSeen what the wait saw last, for the error (may be null)
   * @throws TimedOut when {@code timeout} passes first
   */
  public static <T> T until(
      String what, Duration timeout, Duration interval, Check<T> check, Supplier<String> lastSeen)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      T answer;
      try {
        answer = check.poll();
      } catch (RuntimeException | InterruptedException e) {
        throw e;
      } catch (Exception e) {
        throw new IllegalStateException("while waiting for " + what + ": " + e.getMessage(), e);
      }
      if (answer != null) {
        return answer;
      }
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        String seen = lastSeen == null ? null : lastSeen.get();
        throw new TimedOut(
            "not "
                + what
                + " within "
                + format(timeout)
                + (seen == null || seen.isEmpty() ? "" : " (last seen: " + seen + ")"));
      }
      Thread.sleep(Math.max(1, Math.min(interval.toMillis(), left / 1_000_000)));
    }
  }

  /** {@link #until} without a description of the last look. */
  public static <T> T until(String what, Duration timeout, Duration interval, Check<T> check)
      throws InterruptedException {
    return until(what, timeout, interval, check, null);
  }

  /**
   * Looks until {@code settled} holds or {@code timeout} passes, and returns the last look either
   * way: for a wait that decides by what it saw last (a comparison that may still settle) rather
   * than failing by itself. Looks at least once.
   */
  public static <T> T settle(
      Duration timeout,
      Duration interval,
      java.util.function.Supplier<T> look,
      java.util.function.Predicate<T> settled)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    T last = look.get();
    while (!settled.test(last)) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        return last;
      }
      Thread.sleep(Math.max(1, Math.min(interval.toMillis(), left / 1_000_000)));
      last = look.get();
    }
    return last;
  }

  static String format(Duration duration) {
    long millis = duration.toMillis();
    if (millis % 60_000 == 0 && millis >= 60_000) {
      return millis / 60_000 + " min";
    }
    if (millis % 1000 == 0) {
      return millis / 1000 + " s";
    }
    return millis + " ms";
  }

  /** The wait ended without an answer. */
  public static final class TimedOut extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    TimedOut(String message) {
      super(message);
    }
  }
}
