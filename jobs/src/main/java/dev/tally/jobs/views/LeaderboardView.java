package dev.tally.jobs.views;

import dev.tally.common.views.Partial;
import dev.tally.common.views.ViewCatalog;
import dev.tally.common.views.ViewUpdate;
import dev.tally.jobs.decode.FoldEvent;
import org.apache.flink.api.common.typeinfo.TypeInformation;

/**
 * {@code leaderboard}: per hunt, its users ranked by the points they made in it. Entry key: {@code
 * <hunt>|<user>}, fields {@code points} and {@code events} (sums); every entry is a member of its
 * hunt's ranking (a sorted set in Valkey, scored by points). Events without a hunt do not count.
 * State: one standing per user and hunt (the part).
 */
public final class LeaderboardView implements UserView<LeaderboardView.Standing> {

  private static final long serialVersionUID = 1L;

  public static final String NAME = ViewCatalog.LEADERBOARD.id();

  /** One lane's contribution to a user's standing in a hunt. */
  public static class Standing {
    public long points;
    public long events;

    public Standing() {}
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public TypeInformation<Standing> stateType() {
    return TypeInformation.of(Standing.class);
  }

  @Override
  public String part(FoldEvent event) {
    return event.huntId;
  }

  @Override
  public Standing create() {
    return new Standing();
  }

  @Override
  public void fold(Standing standing, FoldEvent event, ViewContext context) {
    standing.points = Sums.add(standing.points, context.rules().pointsFor(event), NAME, event);
    standing.events += 1;
  }

  @Override
  public ViewUpdate update(String user, String hunt, Standing standing, ViewContext context) {
    return new ViewUpdate(
            NAME,
            ViewCatalog.leaderboardKey(hunt, user),
            context.partialWriter(),
            standing.events,
            Partial.builder().sum("points", standing.points).sum("events", standing.events),
            0)
        .rankedIn(hunt, user, "points");
  }
}
