package dev.tally.jobs.views;

import dev.tally.common.views.ViewUpdate;
import dev.tally.jobs.decode.FoldEvent;
import org.apache.flink.api.common.typeinfo.TypeInformation;

/**
 * A view folded per user: the lane's projection operator keeps, per user and part (e.g. per hunt),
 * one state of type {@code S}, folds the user's deduplicated events into it in their Kafka order,
 * and writes one update per changed part per bundle. The update's version is the number of events
 * folded into the part, so version N denotes the same state after any restart or at any speed.
 *
 * @param <S> the state per user and part: a Flink POJO, mutated in place by {@link #fold}
 */
public interface UserView<S> extends View {

  /** The state's type, for its state descriptor. */
  TypeInformation<S> stateType();

  /**
   * The part of the user's state an event folds into: {@code ""} when the view keeps one state per
   * user, e.g. the hunt for a leaderboard; null when the event does not count in this view.
   */
  String part(FoldEvent event);

  /**
   * True when the view keeps one state per user ({@link #part} always {@code ""}): the projection
   * then keeps it in the user's own record, read and written with the user's dedup head, rather
   * than in a map state of its own.
   */
  default boolean onePerUser() {
    return false;
  }

  /** A part's state before its first event. */
  S create();

  /** Folds one event into the state, in place. */
  void fold(S state, FoldEvent event, ViewContext context);

  /**
   * The update that writes a user's part (without its source timestamp, which the caller sets). Its
   * version must be the number of events folded into the part.
   */
  ViewUpdate update(String user, String part, S state, ViewContext context);
}
