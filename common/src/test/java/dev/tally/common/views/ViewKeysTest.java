package dev.tally.common.views;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ViewKeysTest {

  @Test
  void prefixesNameTheirTagAndGenerationWhicheverGenerationWasAskedBefore() {
    assertThat(ViewKeys.prefix(7, 1)).isEqualTo("tally:{07}:g1:");
    assertThat(ViewKeys.prefix(63, 12)).isEqualTo("tally:{63}:g12:");
    // Switching generations back and forth never serves another generation's prefix.
    assertThat(ViewKeys.prefix(0, 1)).isEqualTo("tally:{00}:g1:");
    assertThat(ViewKeys.entry(2, "user_score", "user-1"))
        .isEqualTo(
            "tally:{"
                + String.format("%02d", ViewKeys.tag("user_score:user-1"))
                + "}:g2:user_score:user-1");
  }

  @Test
  void everyKeyBuiltHereParsesBackToWhatBuiltIt() {
    String activity = ViewCatalog.activityKey("CHECKIN", "2026-01-01T00:05:00Z");
    String entry = ViewKeys.entry(12, ViewCatalog.ACTIVITY.id(), activity);
    ViewKeys.Key parsed = ViewKeys.parse(entry);
    assertThat(parsed.kind()).isEqualTo(ViewKeys.Kind.ENTRY);
    assertThat(parsed.generation()).isEqualTo(12);
    assertThat(parsed.view()).isEqualTo("activity");
    // The entry key keeps its colons (the minute's).
    assertThat(parsed.name()).isEqualTo("CHECKIN|2026-01-01T00:05:00Z");
    assertThat(parsed.tag()).isEqualTo(ViewKeys.tag("activity:" + activity));

    String standing = ViewCatalog.leaderboardKey("hunt-3", "user-7");
    assertThat(ViewCatalog.LEADERBOARD.setOf(standing)).isEqualTo("hunt-3");
    assertThat(ViewCatalog.USER_SCORE.setOf("user-7")).isNull();
    String ranked = ViewKeys.rankedEntry(1, "leaderboard", "hunt-3", standing);
    assertThat(ViewKeys.parse(ranked).tag())
        .isEqualTo(ViewKeys.parse(ViewKeys.rank(1, "leaderboard", "hunt-3")).tag());

    assertThat(ViewKeys.parse(ViewKeys.rank(1, "leaderboard", "hunt-3")))
        .extracting(ViewKeys.Key::kind, ViewKeys.Key::view, ViewKeys.Key::name)
        .containsExactly(ViewKeys.Kind.RANK, "leaderboard", "hunt-3");
    assertThat(ViewKeys.parse(ViewKeys.rankCache(1, "leaderboard", "hunt-3")))
        .extracting(ViewKeys.Key::kind, ViewKeys.Key::name)
        .containsExactly(ViewKeys.Kind.RANK_CACHE, "hunt-3");
    assertThat(ViewKeys.parse(ViewKeys.complete(3, 5)))
        .extracting(ViewKeys.Key::kind, ViewKeys.Key::tag, ViewKeys.Key::name)
        .containsExactly(ViewKeys.Kind.MARKER, 5, "_complete");
    assertThat(ViewKeys.reserved(ViewKeys.warming(3, 5))).isTrue();
    assertThat(ViewKeys.reserved(entry)).isFalse();

    assertThat(ViewKeys.inGeneration(entry, 3)).isEqualTo(ViewKeys.entry(3, "activity", activity));
    assertThat(ViewKeys.inGeneration(ViewKeys.rank(12, "leaderboard", "h"), 100))
        .isEqualTo(ViewKeys.rank(100, "leaderboard", "h"));
    // An entry key that ends like a ranking stays an entry: in an unranked view, and in a ranked
    // one where the part before ":rank" holds the separator (no set does).
    assertThat(ViewKeys.parse(ViewKeys.entry(1, "user_score", "eve:rank")))
        .extracting(ViewKeys.Key::kind, ViewKeys.Key::name)
        .containsExactly(ViewKeys.Kind.ENTRY, "eve:rank");
    assertThat(ViewKeys.parse(ViewKeys.entry(1, "user_score", "eve:rank:cache")).kind())
        .isEqualTo(ViewKeys.Kind.ENTRY);
    String rankLike = ViewCatalog.leaderboardKey("hunt-3", "eve:rank");
    assertThat(ViewKeys.parse(ViewKeys.rankedEntry(1, "leaderboard", "hunt-3", rankLike)))
        .extracting(ViewKeys.Key::kind, ViewKeys.Key::name)
        .containsExactly(ViewKeys.Kind.ENTRY, rankLike);

    assertThatThrownBy(() -> ViewKeys.parse("tally:generation"))
        .hasMessageContaining("is not a key of a view generation");
    assertThatThrownBy(() -> ViewKeys.parse("tally:{07}:gX:user_score:u"))
        .hasMessageContaining("is not a key of a view generation");
  }

  @Test
  void theCatalogueNamesEveryViewOnceAndRefusesAnUnknownOne() {
    assertThat(ViewCatalog.ids()).containsExactly("user_score", "leaderboard", "activity");
    assertThat(ViewCatalog.byId("leaderboard").ranked()).isTrue();
    assertThat(ViewCatalog.ACTIVITY.countField()).isEqualTo("count");
    assertThat(ViewCatalog.activityMinute("TASK_COMPLETED|2026-01-01T00:05:00Z"))
        .isEqualTo("2026-01-01T00:05:00Z");
    assertThatThrownBy(() -> ViewCatalog.byId("scores"))
        .hasMessage("unknown view 'scores'; known: user_score, leaderboard, activity");
  }
}
