package dev.tally.jobs.decode;

import dev.tally.events.EventType;
import java.io.Serializable;

/**
 * A decoded event, flattened to what the views need, plus where it came from. A Flink POJO: the
 * Avro classes stay at the edge, so operators exchange small, schema-free records. This is what
 * crosses the key-by-user shuffle, so it carries the original bytes only when it has to: when a
 * view refused the event and it may have to be dead-lettered.
 */
public class FoldEvent implements Serializable {

  private static final long serialVersionUID = 2L;

  public String eventId;

  public EventType type;

  public String userId;

  /** Null when the event belongs to no hunt. */
  public String huntId;

  /** Event time, epoch milliseconds. */
  public long occurredAt;

  /** Points the payload itself awards (task_completed.points), or null to use the rule table. */
  public Integer payloadPoints;

  /** Kafka coordinates of the record it was decoded from. */
  public int partition;

  public long offset;

  /**
   * The record's Kafka append time (the lane topics use {@code LogAppendTime}): the log's own
   * clock, which the dedup horizon is measured in and end-to-end latency starts from.
   */
  public long appendTime;

  /**
   * Bit {@code i} is set when the lane's {@code i}-th view refuses the event (e.g. too late for
   * {@code activity}); decided before the shuffle from the event and its partition's clock.
   */
  public int refusals;

  /** Why the first refusing view refused it ({@code late}), or null. */
  public String refusalReason;

  /** The refusal in words, for the dead-letter headers, or null. */
  public String refusalError;

  /** Only when refused: the source topic, to dead-letter it. */
  public String topic;

  /** Only when refused: the record's original bytes, to dead-letter it. */
  public byte[] raw;

  public FoldEvent() {}

  /** A copy (strings and bytes shared: never mutated), for operators that hold events. */
  public FoldEvent copy() {
    FoldEvent copy = new FoldEvent();
    copy.eventId = eventId;
    copy.type = type;
    copy.userId = userId;
    copy.huntId = huntId;
    copy.occurredAt = occurredAt;
    copy.payloadPoints = payloadPoints;
    copy.partition = partition;
    copy.offset = offset;
    copy.appendTime = appendTime;
    copy.refusals = refusals;
    copy.refusalReason = refusalReason;
    copy.refusalError = refusalError;
    copy.topic = topic;
    copy.raw = raw;
    return copy;
  }

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
        + partition
        + "@"
        + offset
        + ")";
  }
}
