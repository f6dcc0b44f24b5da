package dev.tally.jobs.views;

import java.util.List;

/** The registered views. Adding a view: write its class, add it here. */
public final class Views {

  private Views() {}

  public static List<View> all() {
    return List.of(new UserScoreView(), new LeaderboardView(), new ActivityView());
  }
}
