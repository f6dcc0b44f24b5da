package dev.tally.jobs.views;

import java.io.Serializable;
import java.time.Duration;

/**
 * What every view may use: the points rules, the event-time lateness it tolerates, and the writer
 * name its partials carry (the job's writer id; the lane is appended per event).
 */
public record ViewContext(PointsRules rules, Duration allowedLateness, String writer)
    implements Serializable {

  /** The writer of partials computed from one lane's events, e.g. {@code live/p0}. */
  public String writerFor(String lane) {
    return writer + "/" + lane;
  }
}
