package dev.tally.common.views;

import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The views Tally serves and the format of their entry keys, defined once for the job, the CLI, the
 * API server, the verifier and the bench (docs/views.md). The Valkey key an entry is stored under
 * is {@link ViewKeys}'; the entry key inside it is this catalogue's.
 *
 * <pre>
 * user_score    &lt;user&gt;                  one entry per user
 * leaderboard   &lt;hunt&gt;|&lt;user&gt;           ranked per hunt (the set is the hunt, the member the user)
 * activity      &lt;TYPE&gt;|&lt;minute&gt;         events of a type per minute, e.g. CHECKIN|2026-01-01T00:05:00Z
 * </pre>
 */
public enum ViewCatalog {
  USER_SCORE("user_score", "events"),
  LEADERBOARD("leaderboard", "events"),
  ACTIVITY("activity", "count");

  /** Between the parts of a composite entry key; hunt ids and event types never hold it. */
  public static final char KEY_SEPARATOR = '|';

  private final String id;
  private final String countField;

  ViewCatalog(String id, String countField) {
    this.id = id;
    this.countField = countField;
  }

  /** The view's name in keys, tables, metrics and URLs, e.g. {@code user_score}. */
  public String id() {
    return id;
  }

  /** The served field that counts the events an entry folds. */
  public String countField() {
    return countField;
  }

  /** Whether the view's entries are ranked in sets (a sorted set per set). */
  public boolean ranked() {
    return this == LEADERBOARD;
  }

  /** The set an entry key is ranked in (a leaderboard entry's hunt); null for an unranked view. */
  public String setOf(String entryKey) {
    if (!ranked()) {
      return null;
    }
    int at = entryKey.indexOf(KEY_SEPARATOR);
    return at > 0 ? entryKey.substring(0, at) : null;
  }

  /** The view named {@code id}. */
  public static ViewCatalog byId(String id) {
    for (ViewCatalog view : values()) {
      if (view.id.equals(id)) {
        return view;
      }
    }
    throw new IllegalArgumentException(
        "unknown view '" + id + "'; known: " + String.join(", ", ids()));
  }

  /** Every view's id, in catalogue order. */
  public static List<String> ids() {
    return Arrays.stream(values()).map(ViewCatalog::id).collect(Collectors.toList());
  }

  /** A leaderboard entry key: {@code <hunt>|<user>}. */
  public static String leaderboardKey(String hunt, String user) {
    return hunt + KEY_SEPARATOR + user;
  }

  /** An activity entry key: {@code <TYPE>|<minute>}, the minute as ISO-8601 text. */
  public static String activityKey(String type, String minute) {
    return type + KEY_SEPARATOR + minute;
  }

  /** The minute part of an activity entry key. */
  public static String activityMinute(String key) {
    return key.substring(key.indexOf(KEY_SEPARATOR) + 1);
  }
}
