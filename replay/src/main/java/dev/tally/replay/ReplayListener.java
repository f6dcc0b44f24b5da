package dev.tally.replay;

import java.io.PrintWriter;

/**
 * Where an operation reports what it does while it runs (a plan's table, "stopping … with a
 * savepoint", a progress line per {@link ReplaySettings#progressInterval()}). Results come back as
 * records; this is only for people watching.
 */
@FunctionalInterface
public interface ReplayListener {

  /** One line, without its line break. */
  void say(String line);

  /** Every line printed to {@code out}, flushed. */
  static ReplayListener printingTo(PrintWriter out) {
    return line -> {
      out.println(line);
      out.flush();
    };
  }

  /** Nothing reported. */
  static ReplayListener quiet() {
    return line -> {};
  }
}
