package dev.tally.common.replay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tally.common.views.PostgresViewStore;
import dev.tally.common.views.ValkeyEndpoint;
import dev.tally.common.views.ViewCatalog;
import dev.tally.common.views.ViewKeys;
import dev.tally.testing.PostgresExtension;
import dev.tally.testing.PostgresServer;
import dev.tally.testing.ValkeyServer;
import io.valkey.UnifiedJedis;
import java.sql.Connection;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The generation switch, retirement and comparison against a real valkey-server and PostgreSQL. */
@ExtendWith(PostgresExtension.class)
class GenerationsIT {

  // Its own server: the served-generation pointer is global to a server.
  private ValkeyServer valkey;
  private PostgresServer.Schema schema;
  private Generations generations;
  private UnifiedJedis jedis;

  @BeforeEach
  void stores(PostgresServer postgres) {
    valkey = ValkeyServer.start();
    schema = postgres.newSchema("generations");
    PostgresViewStore.migrate(schema.jdbcUrl(), schema.user(), schema.password());
    generations =
        new Generations(
            ValkeyEndpoint.parse(valkey.uri(), false, null),
            schema.jdbcUrl(),
            schema.user(),
            schema.password());
    jedis = generations.valkeyClient();
  }

  @AfterEach
  void close() {
    generations.close();
    valkey.close();
  }

  @Test
  void flipIsACompareAndSetInBothStores() throws Exception {
    assertThat(generations.servedInValkey()).isEqualTo(1);
    assertThat(generations.servedInPostgres()).isEqualTo(1);

    generations.flip(1, 2);
    assertThat(jedis.get(ViewKeys.GENERATION_KEY)).isEqualTo("2");
    assertThat(generations.servedInPostgres()).isEqualTo(2);

    assertThatThrownBy(() -> generations.flip(1, 3))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("served generation is 2, not 1");
    assertThat(generations.servedInValkey()).as("refused: unchanged").isEqualTo(2);
    assertThat(generations.servedInPostgres()).isEqualTo(2);
  }

  @Test
  void retiredKeysExpireAfterTheGraceRestoredOnesDoNotAndExpiredRowsArePurged() throws Exception {
    String entry = ViewKeys.entry(1, "user_score", "user-1");
    jedis.hset(entry, Map.of("points", "10", "_v", "1"));
    String other = ViewKeys.entry(2, "user_score", "user-1");
    jedis.hset(other, Map.of("points", "10", "_v", "1"));
    // Another generation's entry whose key holds what a generation-1 key holds after its tag.
    String lookalike = ViewKeys.entry(2, "user_score", "x}:g1:user_score:y");
    jedis.hset(lookalike, Map.of("points", "10", "_v", "1"));
    try (Connection connection = schema.connect()) {
      connection
          .createStatement()
          .executeUpdate(
              "INSERT INTO view_partial (generation, view, entry_key, writer, version, partial, fields, ops)"
                  + " VALUES (1, 'user_score', 'user-1', 'live/p0', 1, 'sum:points=10', '{\"points\": 10}', '{\"points\": \"sum\"}')");
    }

    assertThat(generations.retirement().retire(1, Duration.ofHours(1))).isEqualTo(1);
    assertThat(jedis.pttl(entry)).isBetween(1L, Duration.ofHours(1).toMillis());
    assertThat(jedis.pttl(other)).as("another generation is untouched").isEqualTo(-1L);
    assertThat(jedis.pttl(lookalike)).as("even when its key looks like one").isEqualTo(-1L);
    assertThat(generations.keys(1)).containsExactly(entry);
    assertThat(generations.retirement().retiredUntil(1)).isNotNull();
    assertThat(generations.retirement().retired())
        .extracting(Retirement.Retired::generation)
        .containsExactly(1);

    generations.retirement().restore(1);
    assertThat(jedis.pttl(entry)).isEqualTo(-1L);
    assertThat(generations.retirement().retiredUntil(1)).isNull();
    assertThat(generations.retirement().retired()).isEmpty();

    generations.flip(1, 2);
    generations.retirement().retire(1, Duration.ofMillis(1));
    Thread.sleep(50);
    assertThat(generations.retirement().purgeExpired())
        .as("rows of generation 1 purged")
        .isEqualTo(1);
    try (Connection connection = schema.connect();
        ResultSet rows =
            connection.createStatement().executeQuery("SELECT count(*) FROM view_partial")) {
      rows.next();
      assertThat(rows.getInt(1)).isZero();
    }
    assertThat(jedis.exists(entry)).as("the Valkey key expired").isFalse();
  }

  @Test
  void theRetiredTableSaysWhatPurgesItsRows() throws Exception {
    // V2's SQL comment named a command that does not exist; V4 puts what is true on the table.
    try (Connection connection = schema.connect();
        ResultSet comment =
            connection
                .createStatement()
                .executeQuery(
                    "SELECT obj_description('retired_generation'::regclass, 'pg_class')")) {
      comment.next();
      assertThat(comment.getString(1))
          .contains("every later tally replay cutover or rollback deletes the view_partial rows")
          .doesNotContain("--purge");
    }
  }

  @Test
  void comparisonCountsWhatACutoverMustRefuseAndWhatItMayAccept() {
    // Generation 1 (live) and 2 (rebuilt): one equal, one ahead, one behind, one different, one
    // missing entry; a ranking member missing.
    put(1, "a", "10", "1");
    put(2, "a", "10", "1");
    put(1, "b", "10", "1");
    put(2, "b", "30", "3");
    put(1, "c", "20", "2");
    put(2, "c", "10", "1");
    put(1, "d", "10", "1");
    put(2, "d", "99", "1");
    put(1, "e", "10", "1");
    jedis.zadd(ViewKeys.rank(1, "leaderboard", "hunt-1"), Map.of("u1", 1.0, "u2", 2.0));
    jedis.zadd(ViewKeys.rank(2, "leaderboard", "hunt-1"), Map.of("u1", 1.0));

    GenerationComparison comparison = GenerationComparison.compare(generations, 1, 2);

    GenerationComparison.ViewCounts scores = comparison.views.get("user_score");
    assertThat(scores.liveEntries).isEqualTo(5);
    assertThat(scores.nextEntries).isEqualTo(4);
    assertThat(scores.covered).as("a and d share a version").isEqualTo(2);
    assertThat(scores.ahead).isEqualTo(1);
    assertThat(scores.behind).isEqualTo(1);
    assertThat(scores.different).isEqualTo(1);
    assertThat(scores.missing).isEqualTo(1);
    assertThat(comparison.views.get("leaderboard").rankMembersMissing).isEqualTo(1);
    assertThat(comparison.clean()).isFalse();
    assertThat(comparison.differences)
        .anyMatch(line -> line.startsWith("missing in g2") && line.contains("user_score:e"))
        .anyMatch(line -> line.startsWith("behind in g2") && line.contains("user_score:c"))
        .anyMatch(
            line -> line.startsWith("different at version 1") && line.contains("user_score:d"))
        .anyMatch(line -> line.contains("lacks member u2"));

    // Only what the new generation has read further: clean.
    jedis.flushAll();
    put(1, "a", "10", "1");
    put(2, "a", "10", "1");
    put(2, "b", "30", "3");
    put(1, "c", "10", "1");
    put(2, "c", "30", "3");
    GenerationComparison ahead = GenerationComparison.compare(generations, 1, 2);
    assertThat(ahead.clean()).isTrue();
    assertThat(ahead.views.get("user_score").liveChecksum())
        .isEqualTo(ahead.views.get("user_score").nextChecksum());
  }

  @Test
  void comparingChangedEntriesLooksAtThoseAndTheirRankingsOnly() {
    put(1, "a", "10", "1");
    put(2, "a", "10", "1");
    put(1, "d", "10", "1");
    put(2, "d", "99", "1"); // different, but not among the changed entries
    put(1, "e", "10", "1"); // missing in 2, changed
    String standing = ViewCatalog.leaderboardKey("hunt-1", "u2");
    jedis.hset(
        ViewKeys.rankedEntry(1, "leaderboard", "hunt-1", standing),
        Map.of("points", "2", "_v", "1", "_w:live/p0", "1"));
    jedis.hset(
        ViewKeys.rankedEntry(2, "leaderboard", "hunt-1", standing),
        Map.of("points", "2", "_v", "1", "_w:live/p0", "1"));
    jedis.zadd(ViewKeys.rank(1, "leaderboard", "hunt-1"), Map.of("u1", 1.0, "u2", 2.0));
    jedis.zadd(ViewKeys.rank(2, "leaderboard", "hunt-1"), Map.of("u2", 2.0));

    GenerationComparison changed =
        GenerationComparison.compareEntries(
            generations,
            1,
            2,
            java.util.Set.of(
                ViewKeys.entry(1, "user_score", "a"),
                ViewKeys.entry(1, "user_score", "e"),
                ViewKeys.entry(2, "user_score", "d"), // another generation's: ignored
                ViewKeys.rankedEntry(1, "leaderboard", "hunt-1", standing)));

    GenerationComparison.ViewCounts scores = changed.views.get("user_score");
    assertThat(scores.liveEntries).isEqualTo(2);
    assertThat(scores.nextEntries).as("of those compared, held by g2").isEqualTo(1);
    assertThat(scores.missing).isEqualTo(1);
    assertThat(scores.different).as("d was not among the changed entries").isZero();
    GenerationComparison.ViewCounts board = changed.views.get("leaderboard");
    assertThat(board.covered).isEqualTo(1);
    assertThat(board.rankings).as("the changed entry's ranking").isEqualTo(1);
    assertThat(board.rankMembersMissing).isEqualTo(1);
    assertThat(changed.clean()).isFalse();

    GenerationComparison clean =
        GenerationComparison.compareEntries(
            generations, 1, 2, java.util.Set.of(ViewKeys.entry(1, "user_score", "a")));
    assertThat(clean.clean()).isTrue();
    assertThat(clean.views.get("user_score").covered).isEqualTo(1);
  }

  private void put(int generation, String user, String points, String version) {
    jedis.hset(
        ViewKeys.entry(generation, "user_score", user),
        Map.of("points", points, "_v", version, "_w:live/p0", version));
  }
}
