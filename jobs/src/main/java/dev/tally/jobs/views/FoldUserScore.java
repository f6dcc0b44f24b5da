package dev.tally.jobs.views;

import dev.tally.common.views.Partial;
import dev.tally.common.views.ViewUpdate;
import dev.tally.jobs.decode.FoldEvent;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Keeps one partial score per lane of the keyed user and emits it after each event. The version is
 * the number of the lane's events applied to the user: the lane's events reach this operator in
 * their Kafka order, so version N always denotes the same partial, across any restart.
 */
public final class FoldUserScore extends KeyedProcessFunction<String, FoldEvent, ViewUpdate> {

  private static final long serialVersionUID = 1L;

  /** One lane's contribution to a user's score. */
  public static class ScorePartial {
    public long points;
    public long events;
    public long lastActivity;

    public ScorePartial() {}
  }

  private final ViewContext context;
  private transient MapState<String, ScorePartial> partials;

  public FoldUserScore(ViewContext context) {
    this.context = context;
  }

  @Override
  public void open(OpenContext openContext) {
    partials =
        getRuntimeContext()
            .getMapState(
                new MapStateDescriptor<>(
                    "score-per-lane", Types.STRING, TypeInformation.of(ScorePartial.class)));
  }

  @Override
  public void processElement(FoldEvent event, Context ctx, Collector<ViewUpdate> out)
      throws Exception {
    ScorePartial partial = partials.get(event.lane);
    if (partial == null) {
      partial = new ScorePartial();
      partial.lastActivity = Long.MIN_VALUE;
    }
    partial.points += context.rules().pointsFor(event);
    partial.events += 1;
    partial.lastActivity = Math.max(partial.lastActivity, event.occurredAt);
    partials.put(event.lane, partial);
    out.collect(
        new ViewUpdate(
            UserScoreView.NAME,
            event.userId,
            context.writerFor(event.lane),
            partial.events,
            Partial.builder()
                .sum("points", partial.points)
                .sum("events", partial.events)
                .max("last_activity_ms", partial.lastActivity)
                .build(),
            event.kafkaTimestamp));
  }
}
