package dev.tally.jobs.views;

import java.util.List;

/** The registered views. Adding a view: write its class, add it here. */
public final class Views {

  private Views() {}

  /**
   * Every view, in a fixed order: a view's position is its bit in {@code FoldEvent.refusals}, so
   * the order may change only with a rebuild (like the operator uids).
   */
  public static List<View> all() {
    return List.of(new UserScoreView(), new LeaderboardView(), new ActivityView());
  }
}
