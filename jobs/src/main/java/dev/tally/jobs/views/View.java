package dev.tally.jobs.views;

import dev.tally.common.views.ViewUpdate;
import dev.tally.jobs.decode.DeadLetter;
import dev.tally.jobs.decode.FoldEvent;
import java.io.Serializable;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.KeyedStream;

/**
 * A materialized view: one small class, registered in {@link Views}. It folds the deduplicated
 * events (keyed by user, in each user's Kafka order) into {@link ViewUpdate}s; the sinks, replay
 * and readers handle every view alike.
 */
public interface View extends Serializable {

  /** The view's name in keys and tables, e.g. {@code user_score}. */
  String name();

  /** This view's part of the topology. Stateful operators need stable uids. */
  Output build(KeyedStream<FoldEvent, String> eventsByUser, ViewContext context);

  /**
   * What a view produces.
   *
   * @param rejected events the view refuses (e.g. too late), bound for the dead-letter topic; null
   *     when it refuses none
   */
  record Output(DataStream<ViewUpdate> updates, DataStream<DeadLetter> rejected) {}
}
