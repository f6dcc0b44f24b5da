package dev.tally.common.views;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.output.MigrateResult;

/**
 * The PostgreSQL side of the views: schema migrations (Flyway, {@code dev/tally/db/migration}), the
 * version-guarded upsert the JDBC sink runs, and reads of the served values.
 */
public final class PostgresViewStore {

  /** Keeps a writer's partial only when its version is newer than the stored one. */
  public static final String UPSERT =
      "INSERT INTO view_partial (generation, view, entry_key, writer, version, partial, fields, ops,"
          + " rank_set, rank_member, rank_field, updated_at)"
          + " VALUES (?, ?, ?, ?, ?, ?, ?::jsonb, ?::jsonb, ?, ?, ?, now())"
          + " ON CONFLICT (generation, view, entry_key, writer) DO UPDATE SET"
          + " version = excluded.version, partial = excluded.partial, fields = excluded.fields,"
          + " ops = excluded.ops, rank_set = excluded.rank_set, rank_member = excluded.rank_member,"
          + " rank_field = excluded.rank_field, updated_at = excluded.updated_at"
          + " WHERE view_partial.version < excluded.version";

  /**
   * {@link #UPSERT} for a whole batch in one statement: the rows come as arrays, one per column
   * (see {@link #bindBatch}), so PostgreSQL plans once and sees one round trip. The batch must hold
   * each (view, entry, writer) at most once.
   */
  public static final String UPSERT_BATCH =
      "INSERT INTO view_partial (generation, view, entry_key, writer, version, partial, fields, ops,"
          + " rank_set, rank_member, rank_field, updated_at)"
          + " SELECT ?, u.view, u.entry_key, u.writer, u.version, u.partial, u.fields::jsonb,"
          + " u.ops::jsonb, u.rank_set, u.rank_member, u.rank_field, now()"
          + " FROM unnest(?::text[], ?::text[], ?::text[], ?::bigint[], ?::text[], ?::text[],"
          + " ?::text[], ?::text[], ?::text[], ?::text[])"
          + " AS u(view, entry_key, writer, version, partial, fields, ops, rank_set, rank_member,"
          + " rank_field)"
          + " ON CONFLICT (generation, view, entry_key, writer) DO UPDATE SET"
          + " version = excluded.version, partial = excluded.partial, fields = excluded.fields,"
          + " ops = excluded.ops, rank_set = excluded.rank_set, rank_member = excluded.rank_member,"
          + " rank_field = excluded.rank_field, updated_at = excluded.updated_at"
          + " WHERE view_partial.version < excluded.version";

  private PostgresViewStore() {}

  /** Brings the schema to the newest migration; idempotent. */
  public static MigrateResult migrate(String jdbcUrl, String user, String password) {
    return Flyway.configure(PostgresViewStore.class.getClassLoader())
        .dataSource(jdbcUrl, user, password)
        .locations("classpath:dev/tally/db/migration")
        .load()
        .migrate();
  }

  /** Binds an update to {@link #UPSERT}'s parameters. */
  public static void bind(PreparedStatement statement, ViewUpdate update, int generation)
      throws SQLException {
    String[] json = json(update.fields());
    statement.setInt(1, generation);
    statement.setString(2, update.view);
    statement.setString(3, update.key);
    statement.setString(4, update.writer);
    statement.setLong(5, update.version);
    statement.setString(6, update.partial);
    statement.setString(7, json[0]);
    statement.setString(8, json[1]);
    statement.setString(9, update.rankSet);
    statement.setString(10, update.rankMember);
    statement.setString(11, update.rankField);
  }

  /** Binds a batch to {@link #UPSERT_BATCH}'s parameters: one array per column. */
  public static void bindBatch(
      PreparedStatement statement, List<ViewUpdate> updates, int generation) throws SQLException {
    int n = updates.size();
    String[][] text = new String[9][n];
    Long[] versions = new Long[n];
    for (int i = 0; i < n; i++) {
      ViewUpdate update = updates.get(i);
      String[] json = json(update.fields());
      text[0][i] = update.view;
      text[1][i] = update.key;
      text[2][i] = update.writer;
      versions[i] = update.version;
      text[3][i] = update.partial;
      text[4][i] = json[0];
      text[5][i] = json[1];
      text[6][i] = update.rankSet;
      text[7][i] = update.rankMember;
      text[8][i] = update.rankField;
    }
    Connection connection = statement.getConnection();
    statement.setInt(1, generation);
    statement.setArray(2, connection.createArrayOf("text", text[0]));
    statement.setArray(3, connection.createArrayOf("text", text[1]));
    statement.setArray(4, connection.createArrayOf("text", text[2]));
    statement.setArray(5, connection.createArrayOf("bigint", versions));
    for (int column = 3; column < 9; column++) {
      statement.setArray(column + 3, connection.createArrayOf("text", text[column]));
    }
  }

  /**
   * The partial's fields and ops as JSON objects: {@code {"points":10}}, {@code {"points":"sum"}}.
   */
  private static String[] json(List<Partial.Field> partial) {
    StringBuilder fields = new StringBuilder("{");
    StringBuilder ops = new StringBuilder("{");
    for (Partial.Field field : partial) {
      if (fields.length() > 1) {
        fields.append(',');
        ops.append(',');
      }
      // Field names are [a-z0-9_] (Partial checks) and values integers: no escaping needed.
      fields.append('"').append(field.name()).append("\":").append(field.value());
      ops.append('"').append(field.name()).append("\":\"").append(field.op().code()).append('"');
    }
    return new String[] {fields.append('}').toString(), ops.append('}').toString()};
  }

  /** Served values of one view and generation: entry key → field → value. */
  public static Map<String, Map<String, Long>> values(
      Connection connection, int generation, String view) throws SQLException {
    Map<String, Map<String, Long>> values = new TreeMap<>();
    try (PreparedStatement query =
        connection.prepareStatement(
            "SELECT entry_key, f.key, f.value::numeric FROM view_value v"
                + " CROSS JOIN LATERAL jsonb_each_text(v.value) f WHERE generation = ? AND view = ?")) {
      query.setInt(1, generation);
      query.setString(2, view);
      try (ResultSet rows = query.executeQuery()) {
        while (rows.next()) {
          values
              .computeIfAbsent(rows.getString(1), k -> new TreeMap<>())
              .put(rows.getString(2), rows.getBigDecimal(3).longValueExact());
        }
      }
    }
    return values;
  }

  /** An entry as PostgreSQL serves it: the sum of the writers' versions and the merged fields. */
  public record Served(long version, Map<String, Long> fields) {}

  /** One entry with its served version; null when absent. */
  public static Served served(Connection connection, int generation, String view, String key)
      throws SQLException {
    Map<String, Long> values = new TreeMap<>();
    long version = -1;
    try (PreparedStatement query =
        connection.prepareStatement(
            "SELECT v.version, f.key, f.value::numeric FROM view_value v"
                + " CROSS JOIN LATERAL jsonb_each_text(v.value) f"
                + " WHERE generation = ? AND view = ? AND entry_key = ?")) {
      query.setInt(1, generation);
      query.setString(2, view);
      query.setString(3, key);
      try (ResultSet rows = query.executeQuery()) {
        while (rows.next()) {
          version = rows.getLong(1);
          values.put(rows.getString(2), rows.getBigDecimal(3).longValueExact());
        }
      }
    }
    return version < 0 ? null : new Served(version, values);
  }

  /** The served fields of one entry, empty when absent. */
  public static Map<String, Long> values(
      Connection connection, int generation, String view, String key) throws SQLException {
    Map<String, Long> values = new TreeMap<>();
    try (PreparedStatement query =
        connection.prepareStatement(
            "SELECT f.key, f.value::numeric FROM view_value v CROSS JOIN LATERAL jsonb_each_text(v.value) f"
                + " WHERE generation = ? AND view = ? AND entry_key = ?")) {
      query.setInt(1, generation);
      query.setString(2, view);
      query.setString(3, key);
      try (ResultSet rows = query.executeQuery()) {
        while (rows.next()) {
          values.put(rows.getString(1), rows.getBigDecimal(2).longValueExact());
        }
      }
    }
    return values;
  }
}
