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
 * Keeps the keyed user's partial standing per hunt and lane, and emits it, ranked in the hunt,
 * after each event of that hunt. Versions count the lane's events of the user in the hunt.
 */
public final class FoldLeaderboard extends KeyedProcessFunction<String, FoldEvent, ViewUpdate> {

  private static final long serialVersionUID = 1L;

  /** One lane's contribution to a user's standing in a hunt. */
  public static class Standing {
    public long points;
    public long events;

    public Standing() {}
  }

  private final ViewContext context;
  private transient MapState<String, Standing> standings;

  public FoldLeaderboard(ViewContext context) {
    this.context = context;
  }

  @Override
  public void open(OpenContext openContext) {
    standings =
        getRuntimeContext()
            .getMapState(
                new MapStateDescriptor<>(
                    "standing-per-hunt", Types.STRING, TypeInformation.of(Standing.class)));
  }

  @Override
  public void processElement(FoldEvent event, Context ctx, Collector<ViewUpdate> out)
      throws Exception {
    if (event.huntId == null) {
      return;
    }
    String stateKey = event.huntId;
    Standing standing = standings.get(stateKey);
    if (standing == null) {
      standing = new Standing();
    }
    standing.points += context.rules().pointsFor(event);
    standing.events += 1;
    standings.put(stateKey, standing);
    out.collect(
        new ViewUpdate(
                LeaderboardView.NAME,
                event.huntId + "|" + event.userId,
                context.partialWriter(),
                standing.events,
                Partial.builder()
                    .sum("points", standing.points)
                    .sum("events", standing.events)
                    .build(),
                event.kafkaTimestamp)
            .rankedIn(event.huntId, event.userId, "points"));
  }
}
