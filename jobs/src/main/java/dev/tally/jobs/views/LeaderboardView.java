package dev.tally.jobs.views;

import dev.tally.jobs.decode.FoldEvent;
import org.apache.flink.streaming.api.datastream.KeyedStream;

/**
 * {@code leaderboard}: per hunt, its users ranked by the points they made in it. Entry key: {@code
 * <hunt>|<user>}, fields {@code points} and {@code events} (sums); every entry is a member of its
 * hunt's ranking (a sorted set in Valkey, scored by points). Events without a hunt do not count.
 */
public final class LeaderboardView implements View {

  private static final long serialVersionUID = 1L;

  public static final String NAME = "leaderboard";
  public static final String UID = "view-leaderboard";

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public Output build(KeyedStream<FoldEvent, String> eventsByUser, ViewContext context) {
    return new Output(
        eventsByUser
            .process(new FoldLeaderboard(context))
            .uid(context.uid(UID))
            .name(context.name(NAME)),
        null);
  }
}
