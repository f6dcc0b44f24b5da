package dev.tally.jobs.views;

import dev.tally.jobs.decode.FoldEvent;
import org.apache.flink.streaming.api.datastream.KeyedStream;

/**
 * {@code user_score}: per user, points, event count and last activity (event time). Entry key: the
 * user id. Fields: {@code points} (sum), {@code events} (sum), {@code last_activity_ms} (max).
 */
public final class UserScoreView implements View {

  private static final long serialVersionUID = 1L;

  public static final String NAME = "user_score";
  public static final String UID = "view-user-score";

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public Output build(KeyedStream<FoldEvent, String> eventsByUser, ViewContext context) {
    return new Output(
        eventsByUser
            .process(new FoldUserScore(context))
            .uid(context.uid(UID))
            .name(context.name(NAME)),
        null);
  }
}
