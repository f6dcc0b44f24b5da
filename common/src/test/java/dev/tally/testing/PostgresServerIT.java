package dev.tally.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(PostgresExtension.class)
class PostgresServerIT {

  private static final String VERSIONED_UPSERT =
      """
      INSERT INTO score (user_id, points, version) VALUES (?, ?, ?)
      ON CONFLICT (user_id) DO UPDATE SET points = excluded.points, version = excluded.version
      WHERE score.version < excluded.version
      """;

  @Test
  void sqlRunsInATestsOwnSchema(PostgresServer postgres) throws Exception {
    PostgresServer.Schema schema = postgres.newSchema("smoke");
    try (Connection connection = schema.connect()) {
      try (Statement ddl = connection.createStatement()) {
        ddl.execute("CREATE TABLE score (user_id text PRIMARY KEY, points bigint, version bigint)");
      }
      upsert(connection, "u1", 10, 2);
      upsert(connection, "u1", 5, 1);

      try (Statement query = connection.createStatement();
          ResultSet rows =
              query.executeQuery("SELECT current_schema(), points, version FROM score")) {
        assertThat(rows.next()).isTrue();
        assertThat(rows.getString(1)).isEqualTo(schema.name());
        assertThat(rows.getLong(2)).isEqualTo(10);
        assertThat(rows.getLong(3)).isEqualTo(2);
        assertThat(rows.next()).isFalse();
      }
    }
  }

  @Test
  void schemasOfDifferentTestsAreApart(PostgresServer postgres) {
    assertThat(postgres.newSchema("a").name()).isNotEqualTo(postgres.newSchema("a").name());
  }

  @Test
  void outageDropsConnectionsAndKeepsData(PostgresServer postgres) throws Exception {
    PostgresServer.Schema schema = postgres.newSchema("outage");
    try (Connection connection = schema.connect();
        Statement ddl = connection.createStatement()) {
      ddl.execute("CREATE TABLE kept (id int PRIMARY KEY)");
      ddl.execute("INSERT INTO kept VALUES (1)");
    }

    postgres.outage(java.time.Duration.ofMillis(200));

    try (Connection connection = schema.connect();
        Statement query = connection.createStatement();
        ResultSet rows = query.executeQuery("SELECT count(*) FROM kept")) {
      assertThat(rows.next()).isTrue();
      assertThat(rows.getInt(1)).isEqualTo(1);
    }
  }

  private static void upsert(Connection connection, String user, long points, long version)
      throws Exception {
    try (PreparedStatement statement = connection.prepareStatement(VERSIONED_UPSERT)) {
      statement.setString(1, user);
      statement.setLong(2, points);
      statement.setLong(3, version);
      statement.executeUpdate();
    }
  }
}
