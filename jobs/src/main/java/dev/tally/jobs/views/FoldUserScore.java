package dev.tally.jobs.views;

import dev.tally.common.views.Partial;
import dev.tally.common.views.ViewUpdate;
import dev.tally.jobs.decode.FoldEvent;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Keeps the keyed user's partial score from this lane and emits it after each event. The version is
 * the number of the lane's events applied to the user: they reach this operator in their Kafka
 * order (one partition per user and lane), so version N always denotes the same partial, across any
 * restart.
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
  private transient ValueState<ScorePartial> score;

  public FoldUserScore(ViewContext context) {
    this.context = context;
  }

  @Override
  public void open(OpenContext openContext) {
    score =
        getRuntimeContext()
            .getState(new ValueStateDescriptor<>("score", TypeInformation.of(ScorePartial.class)));
  }

  @Override
  public void processElement(FoldEvent event, Context ctx, Collector<ViewUpdate> out)
      throws Exception {
    ScorePartial partial = score.value();
    if (partial == null) {
      partial = new ScorePartial();
      partial.lastActivity = Long.MIN_VALUE;
    }
    partial.points += context.rules().pointsFor(event);
    partial.events += 1;
    partial.lastActivity = Math.max(partial.lastActivity, event.occurredAt);
    score.update(partial);
    out.collect(
        new ViewUpdate(
            UserScoreView.NAME,
            event.userId,
            context.partialWriter(),
            partial.events,
            Partial.builder()
                .sum("points", partial.points)
                .sum("events", partial.events)
                .max("last_activity_ms", partial.lastActivity)
                .build(),
            event.kafkaTimestamp));
  }
}
