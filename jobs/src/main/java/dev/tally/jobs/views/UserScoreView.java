package dev.tally.jobs.views;

import dev.tally.common.views.Partial;
import dev.tally.common.views.ViewCatalog;
import dev.tally.common.views.ViewUpdate;
import dev.tally.jobs.decode.FoldEvent;
import org.apache.flink.api.common.typeinfo.TypeInformation;

/**
 * {@code user_score}: per user, points, event count and last activity (event time). Entry key: the
 * user id. Fields: {@code points} (sum), {@code events} (sum), {@code last_activity_ms} (max).
 */
public final class UserScoreView implements UserView<UserScoreView.Score> {

  private static final long serialVersionUID = 1L;

  public static final String NAME = ViewCatalog.USER_SCORE.id();

  /** One lane's contribution to a user's score. */
  public static class Score {
    public long points;
    public long events;
    public long lastActivity = Long.MIN_VALUE;

    public Score() {}
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public TypeInformation<Score> stateType() {
    return TypeInformation.of(Score.class);
  }

  @Override
  public String part(FoldEvent event) {
    return "";
  }

  @Override
  public boolean onePerUser() {
    return true;
  }

  @Override
  public Score create() {
    return new Score();
  }

  @Override
  public void fold(Score score, FoldEvent event, ViewContext context) {
    score.points = Sums.add(score.points, context.rules().pointsFor(event), NAME, event);
    score.events += 1;
    score.lastActivity = Math.max(score.lastActivity, event.occurredAt);
  }

  @Override
  public ViewUpdate update(String user, String part, Score score, ViewContext context) {
    return new ViewUpdate(
        NAME,
        user,
        context.partialWriter(),
        score.events,
        Partial.builder()
            .sum("points", score.points)
            .sum("events", score.events)
            .max("last_activity_ms", score.lastActivity),
        0);
  }
}
