package dev.tally.jobs.decode;

import java.io.Serializable;

/**
 * A decoded event, flattened to what the views need, plus where it came from. A Flink POJO: the
 * Avro classes stay at the edge, so operators exchange small, schema-free records.
 */
public class FoldEvent implements Serializable {

  private static final long serialVersionUID = 1L;

  public String eventId;

  /** The {@code EventType} name, e.g. {@code CHECKIN}. */
  public String type;

  public String userId;

  /** Null when the event belongs to no hunt. */
  public String huntId;

  /** Event time, epoch milliseconds. */
  public long occurredAt;

  /** Points the payload itself awards (task_completed.points), or null to use the rule table. */
  public Integer payloadPoints;

  /** The lane it was read from, e.g. {@code p0}. */
  public String lane;

  /** Kafka coordinates and append time of the record it was decoded from. */
  public String topic;

  public int partition;
  public long offset;
  public long kafkaTimestamp;

  /** The record's original bytes, kept only to dead-letter the event later (e.g. too late). */
  public byte[] raw;

  public FoldEvent() {}

  @Override
  public String toString() {
    return type
        + " "
        + eventId
        + " user "
        + userId
        + (huntId == null ? "" : " hunt " + huntId)
        + " at "
        + occurredAt
        + " ("
        + topic
        + "/"
        + partition
        + "@"
        + offset
        + ")";
  }
}
