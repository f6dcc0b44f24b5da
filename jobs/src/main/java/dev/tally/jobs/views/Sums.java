package dev.tally.jobs.views;

import dev.tally.jobs.decode.FoldEvent;

/**
 * Sums of the views: int64 and never wrapped. An event's points are an Avro {@code int} (or a rule
 * of the same range), so one user's sum overflows only after 2^32 events of the greatest points; if
 * that ever happens the job fails naming the entry and the event, rather than serving a wrapped
 * number.
 */
final class Sums {

  private Sums() {}

  static long add(long sum, long points, String view, FoldEvent event) {
    try {
      return Math.addExact(sum, points);
    } catch (ArithmeticException e) {
      throw new IllegalStateException(
          view
              + " of user "
              + event.userId
              + ": adding "
              + points
              + " points of event "
              + event.eventId
              + " would overflow int64 ("
              + sum
              + " already)",
          e);
    }
  }
}
