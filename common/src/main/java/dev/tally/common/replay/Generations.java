package dev.tally.common.replay;

import dev.tally.common.views.ValkeyEndpoint;
import dev.tally.common.views.ValkeyScan;
import dev.tally.common.views.ViewKeys;
import io.valkey.AbstractPipeline;
import io.valkey.Response;
import io.valkey.UnifiedJedis;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The view generations in both stores: which one readers are served, switching it atomically (one
 * Lua call in Valkey, one transaction in PostgreSQL), and retiring an old generation (its keys
 * expire after a grace period, its rows are purged after it) or bringing it back for a rollback.
 *
 * <p>Valkey's pointer is {@code tally:generation}; PostgreSQL's is {@code view_generation}. See
 * docs/views.md and docs/runbook.md.
 */
public final class Generations implements AutoCloseable {

  private static final String SWITCH_SCRIPT = load("/dev/tally/replay/switch_generation.lua");
  private static final int BATCH = 500;

  private final UnifiedJedis valkey;
  private final String jdbcUrl;
  private final String jdbcUser;
  private final String jdbcPassword;

  /** A retired generation: until when it can be brought back. */
  public record Retired(int generation, Instant expiresAt) {}

  /**
   * @param jdbcUrl null when the views have no PostgreSQL copy
   */
  public Generations(ValkeyEndpoint endpoint, String jdbcUrl, String jdbcUser, String password) {
    this.valkey = endpoint.connect();
    this.jdbcUrl = jdbcUrl;
    this.jdbcUser = jdbcUser;
    this.jdbcPassword = password;
  }

  /** The generation Valkey serves (1 when the pointer is absent). */
  public int servedInValkey() {
    String pointer = valkey.get(ViewKeys.GENERATION_KEY);
    return pointer == null ? 1 : Integer.parseInt(pointer);
  }

  /** The generation PostgreSQL serves; null without PostgreSQL. */
  public Integer servedInPostgres() {
    if (jdbcUrl == null) {
      return null;
    }
    return sql(
        connection -> {
          try (ResultSet row =
              connection.createStatement().executeQuery("SELECT current FROM view_generation")) {
            return row.next() ? row.getInt(1) : 1;
          }
        });
  }

  /**
   * Serves {@code next} instead of {@code expected}: one Lua call in Valkey (compare-and-set:
   * refused when another generation is served), then one transaction in PostgreSQL.
   *
   * @throws IllegalStateException when a store does not serve {@code expected}
   */
  public void flip(int expected, int next) {
    flipValkey(expected, next);
    flipPostgres(expected, next);
  }

  /** The Valkey half of {@link #flip}: one Lua compare-and-set of {@code tally:generation}. */
  public void flipValkey(int expected, int next) {
    try {
      valkey.eval(
          SWITCH_SCRIPT,
          List.of(ViewKeys.GENERATION_KEY),
          List.of(
              Integer.toString(expected), Integer.toString(next), ViewKeys.INVALIDATION_CHANNEL));
    } catch (io.valkey.exceptions.JedisDataException e) {
      throw new IllegalStateException("Valkey refused the switch: " + e.getMessage(), e);
    }
  }

  /**
   * The PostgreSQL half of {@link #flip}: {@code UPDATE view_generation SET current = next WHERE
   * current = expected}, one transaction. Its errors say that Valkey already serves {@code next}.
   */
  public void flipPostgres(int expected, int next) {
    if (jdbcUrl == null) {
      return;
    }
    String fix = "UPDATE view_generation SET current = " + next + " WHERE current = " + expected;
    int updated;
    try {
      updated =
          sql(
              connection -> {
                try (PreparedStatement update =
                    connection.prepareStatement(
                        "UPDATE view_generation SET current = ?, changed_at = now() WHERE current = ?")) {
                  update.setInt(1, next);
                  update.setInt(2, expected);
                  return update.executeUpdate();
                }
              });
    } catch (IllegalStateException e) {
      throw new IllegalStateException(
          "Valkey now serves generation "
              + next
              + " but PostgreSQL failed ("
              + e.getMessage()
              + "); once it is back run: "
              + fix,
          e);
    }
    if (updated != 1) {
      throw new IllegalStateException(
          "Valkey now serves generation "
              + next
              + " but PostgreSQL did not serve "
              + expected
              + " (it serves "
              + servedInPostgres()
              + "); set it with: "
              + fix);
    }
  }

  /**
   * The highest generation either store knows of (served, written in PostgreSQL, retired), so a new
   * one never reuses rows left behind.
   */
  public int highestKnown() {
    int highest = servedInValkey();
    if (jdbcUrl != null) {
      int inPostgres =
          sql(
              connection -> {
                try (ResultSet row =
                    connection
                        .createStatement()
                        .executeQuery(
                            "SELECT greatest((SELECT max(generation) FROM view_partial),"
                                + " (SELECT max(generation) FROM retired_generation),"
                                + " (SELECT current FROM view_generation))")) {
                  return row.next() ? row.getInt(1) : 0;
                }
              });
      highest = Math.max(highest, inPostgres);
    }
    return highest;
  }

  /** Whether PostgreSQL holds rows of a generation (false without PostgreSQL). */
  public boolean hasRows(int generation) {
    if (jdbcUrl == null) {
      return false;
    }
    return sql(
        connection -> {
          try (PreparedStatement query =
              connection.prepareStatement(
                  "SELECT 1 FROM view_partial WHERE generation = ? LIMIT 1")) {
            query.setInt(1, generation);
            try (ResultSet row = query.executeQuery()) {
              return row.next();
            }
          }
        });
  }

  /** Every Valkey key of a generation. */
  public Set<String> keys(int generation) {
    Set<String> keys = new TreeSet<>();
    ValkeyScan.keys(valkey, ViewKeys.scanPattern(generation), keys::add);
    return keys;
  }

  /**
   * Takes a generation out of service: its Valkey keys expire after {@code grace}, and PostgreSQL
   * records when its rows may be purged. Returns the number of Valkey keys.
   */
  public int retire(int generation, Duration grace) {
    Set<String> keys = keys(generation);
    long ms = grace.toMillis();
    forEachBatch(keys, (pipeline, key) -> pipeline.pexpire(key, ms));
    valkey.psetex(retiredMarker(generation), ms, Instant.now().plus(grace).toString());
    if (jdbcUrl != null) {
      sql(
          connection -> {
            try (PreparedStatement insert =
                connection.prepareStatement(
                    "INSERT INTO retired_generation (generation, expires_at) VALUES (?, ?)"
                        + " ON CONFLICT (generation) DO UPDATE SET retired_at = now(), expires_at = excluded.expires_at")) {
              insert.setInt(1, generation);
              insert.setTimestamp(2, java.sql.Timestamp.from(Instant.now().plus(grace)));
              return insert.executeUpdate();
            }
          });
    }
    return keys.size();
  }

  /** What {@link #discard} deleted. */
  public record Discarded(int valkeyKeys, int postgresRows) {}

  /**
   * Deletes a generation that is not served: its Valkey keys and retirement marker, its PostgreSQL
   * rows and retirement record (one transaction, which deletes nothing should PostgreSQL serve it
   * by then). Refused for the generation either store serves.
   */
  public Discarded discard(int generation) {
    Integer servedInPostgres = servedInPostgres();
    if (servedInValkey() == generation
        || (servedInPostgres != null && servedInPostgres == generation)) {
      throw new IllegalStateException(
          "generation " + generation + " is served to readers: it cannot be discarded");
    }
    Set<String> keys = keys(generation);
    forEachBatch(keys, AbstractPipeline::del);
    valkey.del(retiredMarker(generation));
    int rows = 0;
    if (jdbcUrl != null) {
      rows =
          sql(
              connection -> {
                connection.setAutoCommit(false);
                int deleted;
                try (PreparedStatement rowsOf =
                        connection.prepareStatement(
                            "DELETE FROM view_partial WHERE generation = ?"
                                + " AND generation <> (SELECT current FROM view_generation)");
                    PreparedStatement retirement =
                        connection.prepareStatement(
                            "DELETE FROM retired_generation WHERE generation = ?")) {
                  rowsOf.setInt(1, generation);
                  deleted = rowsOf.executeUpdate();
                  retirement.setInt(1, generation);
                  retirement.executeUpdate();
                }
                connection.commit();
                return deleted;
              });
    }
    return new Discarded(keys.size(), rows);
  }

  /** Brings a retired generation back into service: its keys no longer expire. */
  public int restore(int generation) {
    Set<String> keys = keys(generation);
    forEachBatch(keys, AbstractPipeline::persist);
    valkey.del(retiredMarker(generation));
    if (jdbcUrl != null) {
      sql(
          connection -> {
            try (PreparedStatement delete =
                connection.prepareStatement(
                    "DELETE FROM retired_generation WHERE generation = ?")) {
              delete.setInt(1, generation);
              return delete.executeUpdate();
            }
          });
    }
    return keys.size();
  }

  /** When a retired generation's Valkey keys expire; null when it is not retired (or expired). */
  public Instant retiredUntil(int generation) {
    String marker = valkey.get(retiredMarker(generation));
    return marker == null ? null : Instant.parse(marker);
  }

  /** Retired generations PostgreSQL knows of (empty without PostgreSQL). */
  public List<Retired> retired() {
    if (jdbcUrl == null) {
      return List.of();
    }
    return sql(
        connection -> {
          List<Retired> retired = new ArrayList<>();
          try (ResultSet rows =
              connection
                  .createStatement()
                  .executeQuery(
                      "SELECT generation, expires_at FROM retired_generation ORDER BY generation")) {
            while (rows.next()) {
              retired.add(new Retired(rows.getInt(1), rows.getTimestamp(2).toInstant()));
            }
          }
          return retired;
        });
  }

  /**
   * Deletes the PostgreSQL rows of retired generations whose grace period is over (never the served
   * one). Returns the rows deleted.
   */
  public int purgeExpired() {
    if (jdbcUrl == null) {
      return 0;
    }
    return sql(
        connection -> {
          connection.setAutoCommit(false);
          int deleted;
          try (var statement = connection.createStatement()) {
            deleted =
                statement.executeUpdate(
                    "DELETE FROM view_partial WHERE generation IN (SELECT generation FROM retired_generation"
                        + " WHERE expires_at <= now()) AND generation <> (SELECT current FROM view_generation)");
            statement.executeUpdate(
                "DELETE FROM retired_generation WHERE expires_at <= now()"
                    + " AND generation <> (SELECT current FROM view_generation)");
          }
          connection.commit();
          return deleted;
        });
  }

  /** The underlying Valkey client, for the few reads and writes this class does not wrap. */
  public UnifiedJedis valkeyClient() {
    return valkey;
  }

  static String retiredMarker(int generation) {
    return "tally:generation:" + generation + ":retired";
  }

  private interface KeyCall {
    void call(AbstractPipeline pipeline, String key);
  }

  private void forEachBatch(Set<String> keys, KeyCall call) {
    List<String> batch = new ArrayList<>(BATCH);
    for (String key : keys) {
      batch.add(key);
      if (batch.size() == BATCH) {
        pipeline(batch, call);
        batch.clear();
      }
    }
    pipeline(batch, call);
  }

  private void pipeline(List<String> batch, KeyCall call) {
    if (batch.isEmpty()) {
      return;
    }
    try (AbstractPipeline pipeline = valkey.pipelined()) {
      for (String key : batch) {
        call.call(pipeline, key);
      }
      pipeline.sync();
    }
  }

  private interface SqlWork<T> {
    T run(java.sql.Connection connection) throws SQLException;
  }

  private <T> T sql(SqlWork<T> work) {
    try (java.sql.Connection connection =
        DriverManager.getConnection(jdbcUrl, jdbcUser, jdbcPassword)) {
      return work.run(connection);
    } catch (SQLException e) {
      throw new IllegalStateException("PostgreSQL: " + e.getMessage(), e);
    }
  }

  @Override
  public void close() {
    valkey.close();
  }

  static String load(String resource) {
    try (InputStream in = Generations.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException(resource + " missing from the classpath");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** For the comparison: the served fields and version of many hashes, pipelined. */
  List<Map<String, String>> hashes(List<String> keys) {
    List<Map<String, String>> values = new ArrayList<>(keys.size());
    for (int from = 0; from < keys.size(); from += BATCH) {
      List<String> batch = keys.subList(from, Math.min(keys.size(), from + BATCH));
      List<Response<Map<String, String>>> responses = new ArrayList<>(batch.size());
      try (AbstractPipeline pipeline = valkey.pipelined()) {
        batch.forEach(key -> responses.add(pipeline.hgetAll(key)));
        pipeline.sync();
      }
      responses.forEach(response -> values.add(response.get()));
    }
    return values;
  }

  /** For the comparison: the members of many sorted sets, pipelined. */
  List<List<String>> members(List<String> keys) {
    List<List<String>> values = new ArrayList<>(keys.size());
    for (int from = 0; from < keys.size(); from += BATCH) {
      List<String> batch = keys.subList(from, Math.min(keys.size(), from + BATCH));
      List<Response<List<String>>> responses = new ArrayList<>(batch.size());
      try (AbstractPipeline pipeline = valkey.pipelined()) {
        batch.forEach(key -> responses.add(pipeline.zrange(key, 0, -1)));
        pipeline.sync();
      }
      responses.forEach(response -> values.add(response.get()));
    }
    return values;
  }
}
