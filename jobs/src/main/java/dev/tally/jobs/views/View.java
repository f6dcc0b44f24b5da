package dev.tally.jobs.views;

import dev.tally.jobs.decode.FoldEvent;
import java.io.Serializable;

/**
 * A materialized view: one small class, registered in {@link Views}. A view is either a {@link
 * UserView} (folded per user, in the user's Kafka order, inside the lane's projection operator) or
 * a {@link CountView} (events counted per entry of any key, pre-counted per bundle before one
 * shuffle). The operators, the sinks, replay and readers handle every view alike.
 *
 * <p>Everything a view decides is a function of the log: the events themselves and, for {@link
 * #refusal}, the clock of the partition an event was read from (the greatest {@code occurred_at}
 * before it in that partition, less the allowed out-of-orderness). Never processing time, never how
 * fast partitions are read.
 */
public interface View extends Serializable {

  /** The view's name in keys and tables, e.g. {@code user_score}. */
  String name();

  /**
   * Whether the view refuses an event, decided once per record before the shuffle.
   *
   * @param partitionClock the event-time clock of the event's partition where it was read: the
   *     greatest {@code occurred_at} of the records before it in the partition minus the allowed
   *     out-of-orderness; {@link Long#MIN_VALUE} for a partition's first record
   * @return why the view refuses it, or null to take it. A refused event that is not a duplicate
   *     goes to the dead-letter topic with the reason.
   */
  default Refusal refusal(FoldEvent event, long partitionClock, ViewContext context) {
    return null;
  }

  /**
   * Why a view refused an event.
   *
   * @param reason the dead-letter reason, e.g. {@code late}
   * @param error the same in words
   */
  record Refusal(String reason, String error) implements Serializable {}
}
