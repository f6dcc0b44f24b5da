package dev.tally.common.replay;

import dev.tally.common.views.ValkeyEndpoint;
import dev.tally.common.views.ValkeyScan;
import dev.tally.common.views.ViewKeys;
import io.valkey.AbstractPipeline;
import io.valkey.UnifiedJedis;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * The view generations in both stores: which one readers are served, switching it atomically (one
 * Lua call in Valkey, one transaction in PostgreSQL), and what each holds. What happens to the ones
 * no longer served is {@link Retirement}'s.
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
  private final Retirement retirement = new Retirement(this);

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

  /** Retiring, restoring, discarding and purging generations that are not served. */
  public Retirement retirement() {
    return retirement;
  }

  /** The underlying Valkey client, for the few reads and writes this class does not wrap. */
  public UnifiedJedis valkeyClient() {
    return valkey;
  }

  /** Whether the views have a PostgreSQL copy. */
  boolean hasPostgres() {
    return jdbcUrl != null;
  }

  interface KeyCall {
    void call(AbstractPipeline pipeline, String key);
  }

  void forEachBatch(Set<String> keys, KeyCall call) {
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

  interface SqlWork<T> {
    T run(java.sql.Connection connection) throws SQLException;
  }

  <T> T sql(SqlWork<T> work) {
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
}
