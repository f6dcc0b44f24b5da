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
        .as(
            "V1 view tables, V2 retired generations, V3 fill factor, V4 retired table's comment,"
                + " V5 the read model")
        .isEqualTo(5);
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
                  "SELECT rank_member FROM view_value WHERE view = 'leaderboard' AND rank_set = 'hunt-1' ORDER BY rank_score DESC")) {
        while (rows.next()) {
          ranking.add(rows.getString(1));
        }
      }
      assertThat(ranking).containsExactly("u2", "u1");
    }
  }

  /** The merge of every writer's partial, recomputed from view_partial as V1's view did. */
  private static final String MERGED_FROM_PARTIALS =
      "WITH f AS (SELECT p.entry_key, k.key AS field, p.ops ->> k.key AS op, k.value::numeric AS v"
          + " FROM view_partial p CROSS JOIN LATERAL jsonb_each_text(p.fields) k),"
          + " m AS (SELECT entry_key, field, CASE op WHEN 'max' THEN max(v) WHEN 'min' THEN min(v)"
          + " ELSE sum(v) END AS v FROM f GROUP BY entry_key, field, op)"
          + " SELECT m.entry_key, jsonb_object_agg(m.field, m.v)::text,"
          + " (SELECT sum(version) FROM view_partial p WHERE p.entry_key = m.entry_key)"
          + " FROM m GROUP BY m.entry_key ORDER BY m.entry_key";

  private static final String READ_MODEL =
      "SELECT entry_key, value::text, version FROM view_entry ORDER BY entry_key";

  private static List<String> rows(Connection connection, String query) throws Exception {
    List<String> rows = new java.util.ArrayList<>();
    try (ResultSet result = connection.createStatement().executeQuery(query)) {
      while (result.next()) {
        rows.add(result.getString(1) + " " + result.getString(2) + " v" + result.getLong(3));
      }
    }
    return rows;
  }

  @Test
  void theReadModelEqualsTheMergeOfThePartialsWhenWritersOfTheSameEntriesCommitConcurrently(
      PostgresServer postgres) throws Exception {
    PostgresServer.Schema schema = postgres.newSchema("readmodel");
    PostgresViewStore.migrate(schema.jdbcUrl(), schema.user(), schema.password());
    // Three writers (lanes) write batches of the same 50 users' partials at once, each batch in
    // its own transaction, 40 versions each, a third of the users left out of each batch (so
    // batches both insert and update partials): sums added, maxes raised, in any commit order.
    java.util.concurrent.ExecutorService pool =
        java.util.concurrent.Executors.newFixedThreadPool(3);
    try {
      List<java.util.concurrent.Future<Void>> writers = new java.util.ArrayList<>();
      for (String writer : List.of("live/p0", "live/p1", "live/p2")) {
        writers.add(
            pool.submit(
                () -> {
                  try (Connection connection = schema.connect()) {
                    connection.setAutoCommit(false);
                    java.util.Random random = new java.util.Random(writer.hashCode());
                    for (long version = 1; version <= 40; version++) {
                      List<ViewUpdate> batch = new java.util.ArrayList<>();
                      for (int user = 0; user < 50; user++) {
                        if (random.nextInt(3) > 0) {
                          batch.add(
                              ValkeyViewStoreContract.score(
                                  "u" + user,
                                  writer,
                                  version,
                                  version * 7 + user,
                                  // a writer's max only grows with its versions
                                  version * 1_000 + random.nextInt(1_000)));
                        }
                      }
                      try (PreparedStatement statement =
                          connection.prepareStatement(PostgresViewStore.UPSERT_BATCH)) {
                        PostgresViewStore.bindBatch(statement, batch, GENERATION);
                        statement.executeUpdate();
                      }
                      connection.commit();
                    }
                  }
                  return null;
                }));
      }
      for (java.util.concurrent.Future<Void> writer : writers) {
        writer.get(2, java.util.concurrent.TimeUnit.MINUTES);
      }
    } finally {
      pool.shutdownNow();
    }
    try (Connection connection = schema.connect()) {
      List<String> merged = rows(connection, MERGED_FROM_PARTIALS);
      assertThat(merged).hasSize(50);
      assertThat(rows(connection, READ_MODEL)).isEqualTo(merged);
    }
  }

  @Test
  void migratingAnExistingSchemaFillsTheReadModelFromItsPartials(PostgresServer postgres)
      throws Exception {
    PostgresServer.Schema schema = postgres.newSchema("backfill");
    org.flywaydb.core.Flyway.configure(PostgresViewStore.class.getClassLoader())
        .dataSource(schema.jdbcUrl(), schema.user(), schema.password())
        .locations("classpath:dev/tally/db/migration")
        .target("4")
        .load()
        .migrate();
    try (Connection connection = schema.connect()) {
      upsert(
          connection,
          ValkeyViewStoreContract.score("u1", "live/p0", 2, 20, 2000),
          ValkeyViewStoreContract.score("u1", "live/p1", 3, 5, 9000),
          ValkeyViewStoreContract.board("hunt-1", "u1", "live/p0", 1, 10));
    }
    PostgresViewStore.migrate(schema.jdbcUrl(), schema.user(), schema.password());
    try (Connection connection = schema.connect()) {
      assertThat(PostgresViewStore.served(connection, GENERATION, "user_score", "u1"))
          .isEqualTo(
              new PostgresViewStore.Served(
                  5, Map.of("points", 25L, "events", 5L, "last_activity_ms", 9000L)));
      assertThat(rows(connection, READ_MODEL)).hasSize(2);
      // And written to from then on.
      upsert(connection, ValkeyViewStoreContract.score("u1", "live/p0", 4, 30, 3000));
      assertThat(PostgresViewStore.values(connection, GENERATION, "user_score", "u1"))
          .isEqualTo(Map.of("points", 35L, "events", 7L, "last_activity_ms", 9000L));
    }
  }
}
