package dev.tally.common.views;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tally.testing.PostgresExtension;
import dev.tally.testing.PostgresServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The least-privilege roles of deploy/postgres/roles.sql, applied as they are to a migrated schema
 * on a real server: the job's writer role runs the sink's upsert and the warden's reads and nothing
 * else; the reader role reads the served views and writes nothing.
 */
@ExtendWith(PostgresExtension.class)
class PostgresRolesIT {

  private static final Path ROLES = Path.of("../deploy/postgres/roles.sql");

  @Test
  void theWriterUpsertsAndReadsTheReaderOnlyReadsAndNeitherChangesTheSchema(PostgresServer postgres)
      throws Exception {
    PostgresServer.Schema schema = postgres.newSchema("roles");
    PostgresViewStore.migrate(schema.jdbcUrl(), schema.user(), schema.password());
    String writer = schema.name() + "_job";
    String reader = schema.name() + "_api";
    try (Connection owner = schema.connect();
        Statement sql = owner.createStatement()) {
      sql.execute(Files.readString(ROLES));
      sql.execute(Files.readString(ROLES)); // idempotent
      sql.execute("CREATE ROLE " + writer + " LOGIN IN ROLE tally_writer");
      sql.execute("CREATE ROLE " + reader + " LOGIN IN ROLE tally_reader");
    }

    ViewUpdate update =
        new ViewUpdate("user_score", "user-1", "live/p0", 3, "sum:points=30;sum:events=3", 0);
    try (Connection job = connectAs(schema, writer)) {
      try (PreparedStatement upsert = job.prepareStatement(PostgresViewStore.UPSERT_BATCH)) {
        PostgresViewStore.bindBatch(upsert, List.of(update), 1);
        assertThat(upsert.executeUpdate()).isEqualTo(1);
      }
      assertThat(PostgresViewStore.values(job, 1, "user_score", "user-1"))
          .containsEntry("points", 30L);
      assertThat(job.createStatement().executeQuery("SELECT current FROM view_generation").next())
          .isTrue();
      assertRefused(job, "UPDATE view_generation SET current = 2");
      assertRefused(job, "DELETE FROM view_partial");
      assertRefused(
          job, "INSERT INTO retired_generation (generation, expires_at) VALUES (9, now())");
      assertRefused(job, "DROP TABLE view_partial");
      assertRefused(job, "CREATE TABLE sneaky (x int)");
    }
    try (Connection api = connectAs(schema, reader)) {
      assertThat(PostgresViewStore.served(api, 1, "user_score", "user-1").fields())
          .containsEntry("points", 30L);
      assertThat(api.createStatement().executeQuery("SELECT current FROM view_generation").next())
          .isTrue();
      assertRefused(api, "SELECT * FROM view_partial");
      assertRefused(
          api,
          "INSERT INTO view_partial (generation, view, entry_key, writer, version, partial, fields,"
              + " ops) VALUES (1, 'v', 'k', 'w', 1, '', '{}', '{}')");
      assertRefused(api, "UPDATE view_generation SET current = 2");
    }
  }

  private static Connection connectAs(PostgresServer.Schema schema, String role)
      throws SQLException {
    // The local and test servers trust loopback connections: the role name is the login.
    return DriverManager.getConnection(schema.jdbcUrl(), role, "");
  }

  private static void assertRefused(Connection connection, String statement) {
    // 42501 insufficient_privilege: "permission denied for …", "must be owner of …".
    assertThatThrownBy(() -> connection.createStatement().execute(statement))
        .as(statement)
        .isInstanceOfSatisfying(
            SQLException.class,
            e -> assertThat(e.getSQLState()).as(e.getMessage()).isEqualTo("42501"));
  }
}
