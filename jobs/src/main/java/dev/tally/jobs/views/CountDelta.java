package dev.tally.jobs.views;

import java.io.Serializable;

/**
 * How many events of one bundle count in one entry of a {@link CountView}: what crosses the shuffle
 * by entry key instead of one record per event. A Flink POJO.
 */
public class CountDelta implements Serializable {

  private static final long serialVersionUID = 1L;

  public String view;
  public String entryKey;
  public long count;

  /** The greatest Kafka append time among the counted events: end-to-end latency starts there. */
  public long sourceTimestamp;

  public CountDelta() {}

  public CountDelta(String view, String entryKey, long count, long sourceTimestamp) {
    this.view = view;
    this.entryKey = entryKey;
    this.count = count;
    this.sourceTimestamp = sourceTimestamp;
  }

  /** The shuffle key: the view and its entry. */
  public String key() {
    return view + '|' + entryKey;
  }
}
