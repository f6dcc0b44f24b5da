package dev.tally.jobs.decode;

import java.io.Serializable;

/**
 * A record the job could not use, on its way to the dead-letter topic with the reason. The original
 * key and value are kept byte for byte, with the source coordinates.
 */
public class DeadLetter implements Serializable {

  private static final long serialVersionUID = 1L;

  /**
   * Why: {@code bad-header}, {@code unknown-schema}, {@code corrupt}, {@code invalid}, {@code
   * late}.
   */
  public String reason;

  /** The error in words. */
  public String error;

  public String sourceTopic;
  public int sourcePartition;
  public long sourceOffset;
  public long sourceTimestamp;
  public byte[] key;
  public byte[] value;

  public DeadLetter() {}

  public DeadLetter(
      String reason,
      String error,
      String topic,
      int partition,
      long offset,
      long timestamp,
      byte[] key,
      byte[] value) {
    this.reason = reason;
    this.error = error;
    this.sourceTopic = topic;
    this.sourcePartition = partition;
    this.sourceOffset = offset;
    this.sourceTimestamp = timestamp;
    this.key = key;
    this.value = value;
  }

  @Override
  public String toString() {
    return reason + " " + sourceTopic + "/" + sourcePartition + "@" + sourceOffset + ": " + error;
  }
}
