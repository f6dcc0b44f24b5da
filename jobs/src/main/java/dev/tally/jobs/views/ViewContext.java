package dev.tally.jobs.views;

import java.io.Serializable;
import java.time.Duration;

/**
 * What a view is given when it builds its part of one lane's pipeline: the points rules, the
 * event-time lateness it tolerates, and who it writes as.
 *
 * @param writer the job's writer id, e.g. {@code live}
 * @param lane the lane this pipeline reads, e.g. {@code p0}
 */
public record ViewContext(PointsRules rules, Duration allowedLateness, String writer, String lane)
    implements Serializable {

  /** The writer name of this lane's partials, e.g. {@code live/p0}. */
  public String partialWriter() {
    return writer + "/" + lane;
  }

  /** A stable operator uid for this lane, e.g. {@code view-user-score-p0}. */
  public String uid(String base) {
    return base + "-" + lane;
  }

  /** An operator name for this lane. */
  public String name(String base) {
    return base + " (" + lane + ")";
  }
}
