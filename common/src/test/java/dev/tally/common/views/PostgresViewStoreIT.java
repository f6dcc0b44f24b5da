package dev.tally.common.views;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tally.testing.PostgresExtension;
import dev.tally.testing.PostgresServer;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(PostgresExtension.class)
class PostgresViewStoreIT {

  private static final int GENERATION = 1;

  private static void upsert(Connection connection, ViewUpdate... updates) throws Exception {
    try (PreparedStatement statement = connection.prepareStatement(PostgresViewStore.UPSERT)) {
      for (ViewUpdate update : updates) {
        PostgresViewStore.bind(statement, update, GENERATION);
        statement.addBatch();
      }
      statement.executeBatch();
    }
  }

  @Test
  void migrationsApplyOnceAndAgainAreANoOp(PostgresServer postgres) {
    PostgresServer.Schema schema = postgres.newSchema("migrate");

    assertThat(
            PostgresViewStore.migrate(schema.jdbcUrl(), schema.user(), schema.password())
                .migrationsExecuted)
        .as("V1 view tables, V2 retired generations, V3 fill factor, V4 retired table's comment")
        .isEqualTo(4);
    assertThat(
            PostgresViewStore.migrate(schema.jdbcUrl(), schema.user(), schema.password())
                .migrationsExecuted)
        .isZero();
  }

  @Test
  void upsertKeepsOnlyNewerVersionsAndTheViewMergesWriters(PostgresServer postgres)
      throws Exception {
    PostgresServer.Schema schema = postgres.newSchema("upsert");
    PostgresViewStore.migrate(schema.jdbcUrl(), schema.user(), schema.password());
    try (Connection connection = schema.connect()) {
      upsert(connection, ValkeyViewStoreContract.score("u1", "live/p0", 2, 20, 2000));
      upsert(connection, ValkeyViewStoreContract.score("u1", "live/p0", 1, 10, 1000));
      upsert(connection, ValkeyViewStoreContract.score("u1", "live/p1", 1, 5, 9000));

      Map<String, Map<String, Long>> scores =
          PostgresViewStore.values(connection, GENERATION, "user_score");

      assertThat(scores).containsOnlyKeys("u1");
      assertThat(scores.get("u1"))
          .isEqualTo(Map.of("points", 25L, "events", 3L, "last_activity_ms", 9000L));
      try (ResultSet version =
          connection
              .createStatement()
              .executeQuery("SELECT version FROM served_view_value WHERE entry_key = 'u1'")) {
        assertThat(version.next()).isTrue();
        assertThat(version.getLong(1)).isEqualTo(3);
      }
    }
  }

  private static int upsertBatch(Connection connection, ViewUpdate... updates) throws Exception {
    try (PreparedStatement statement =
        connection.prepareStatement(PostgresViewStore.UPSERT_BATCH)) {
      PostgresViewStore.bindBatch(statement, List.of(updates), GENERATION);
      return statement.executeUpdate();
    }
  }

  @Test
  void batchUpsertWritesEveryRowInOneStatementAndKeepsOnlyNewerVersions(PostgresServer postgres)
      throws Exception {
    PostgresServer.Schema schema = postgres.newSchema("batch");
    PostgresViewStore.migrate(schema.jdbcUrl(), schema.user(), schema.password());
    try (Connection connection = schema.connect()) {
      assertThat(
              upsertBatch(
                  connection,
                  ValkeyViewStoreContract.score("u1", "live/p0", 2, 20, 2000),
                  ValkeyViewStoreContract.score("u2", "live/p0", 1, 10, 1000),
                  ValkeyViewStoreContract.board("hunt-1", "u1", "live/p0", 2, 20)))
          .isEqualTo(3);
      assertThat(
              upsertBatch(
                  connection,
                  // older: ignored; newer: kept; another writer: merged
                  ValkeyViewStoreContract.score("u1", "live/p0", 1, 10, 1000),
                  ValkeyViewStoreContract.score("u2", "live/p0", 3, 30, 3000),
                  ValkeyViewStoreContract.score("u2", "live/p1", 1, 5, 500)))
          .as("rows written: the older version of u1 is not")
          .isEqualTo(2);

      Map<String, Map<String, Long>> scores =
          PostgresViewStore.values(connection, GENERATION, "user_score");
      assertThat(scores.get("u1"))
          .isEqualTo(Map.of("points", 20L, "events", 2L, "last_activity_ms", 2000L));
      assertThat(scores.get("u2"))
          .isEqualTo(Map.of("points", 35L, "events", 4L, "last_activity_ms", 3000L));
      assertThat(PostgresViewStore.values(connection, GENERATION, "leaderboard", "hunt-1|u1"))
          .isEqualTo(Map.of("points", 20L, "events", 2L));
    }
  }

  @Test
  void rankedEntriesKeepTheirRanking(PostgresServer postgres) throws Exception {
    PostgresServer.Schema schema = postgres.newSchema("rank");
    PostgresViewStore.migrate(schema.jdbcUrl(), schema.user(), schema.password());
    try (Connection connection = schema.connect()) {
      upsert(
          connection,
          ValkeyViewStoreContract.board("hunt-1", "u1", "live/p0", 1, 10),
          ValkeyViewStoreContract.board("hunt-1", "u2", "live/p0", 1, 30));

      List<String> ranking = new java.util.ArrayList<>();
      try (ResultSet rows =
          connection
              .createStatement()
              .executeQuery(
                  "SELECT rank_member FROM view_value WHERE view = 'leaderboard' AND rank_set = 'hunt-1' ORDER BY (value ->> rank_field)::numeric DESC")) {
        while (rows.next()) {
          ranking.add(rows.getString(1));
        }
      }
      assertThat(ranking).containsExactly("u2", "u1");
    }
  }
}
