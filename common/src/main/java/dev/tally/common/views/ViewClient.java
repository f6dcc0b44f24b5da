package dev.tally.common.views;

import io.valkey.UnifiedJedis;
import io.valkey.resps.Tuple;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * How an API layer reads the views: Valkey first, PostgreSQL when Valkey misses (a cold or
 * restarted cache), always in the generation readers are served ({@code tally:generation} in
 * Valkey, {@code view_generation} in PostgreSQL, 1 when neither says).
 */
public final class ViewClient implements AutoCloseable {

  /** Where a value was found. */
  public enum Source {
    VALKEY,
    POSTGRES,
    NONE
  }

  /** An entry's served fields and where they came from. */
  public record Entry(Source source, String valkeyKey, Map<String, Long> fields) {}

  /** One ranked member. */
  public record Standing(String member, long score) {}

  private final UnifiedJedis valkey;
  private final String jdbcUrl;
  private final String user;
  private final String password;

  /**
   * @param jdbcUrl null to read Valkey only
   */
  public ViewClient(ValkeyEndpoint endpoint, String jdbcUrl, String user, String password) {
    this.valkey = endpoint.connect();
    this.jdbcUrl = jdbcUrl;
    this.user = user;
    this.password = password;
  }

  /** The generation readers are served. */
  public int generation() {
    String pointer = valkey.get(ViewKeys.GENERATION_KEY);
    if (pointer != null) {
      return Integer.parseInt(pointer);
    }
    if (jdbcUrl != null) {
      try (Connection connection = connect();
          ResultSet row =
              connection.createStatement().executeQuery("SELECT current FROM view_generation")) {
        if (row.next()) {
          return row.getInt(1);
        }
      } catch (SQLException e) {
        throw new IllegalStateException(
            "cannot read the served generation from PostgreSQL: " + e.getMessage(), e);
      }
    }
    return 1;
  }

  /** An unranked entry, e.g. {@code entry("user_score", "user-7")}. */
  public Entry entry(String view, String key) {
    int generation = generation();
    return lookup(generation, view, key, ViewKeys.entry(generation, view, key));
  }

  /**
   * An entry ranked in {@code set}, e.g. {@code rankedEntry("leaderboard", "hunt-3",
   * "hunt-3|user-7")}.
   */
  public Entry rankedEntry(String view, String set, String key) {
    int generation = generation();
    return lookup(generation, view, key, ViewKeys.rankedEntry(generation, view, set, key));
  }

  /** The top {@code n} of a ranking, highest first. */
  public List<Standing> top(String view, String set, int n) {
    int generation = generation();
    List<Standing> standings = new ArrayList<>();
    for (Tuple tuple : valkey.zrevrangeWithScores(ViewKeys.rank(generation, view, set), 0, n - 1)) {
      standings.add(new Standing(tuple.getElement(), (long) tuple.getScore()));
    }
    if (standings.isEmpty() && jdbcUrl != null) {
      try (Connection connection = connect();
          PreparedStatement query =
              connection.prepareStatement(
                  "SELECT rank_member, (value ->> rank_field)::numeric AS score FROM view_value"
                      + " WHERE generation = ? AND view = ? AND rank_set = ? ORDER BY score DESC, rank_member LIMIT ?")) {
        query.setInt(1, generation);
        query.setString(2, view);
        query.setString(3, set);
        query.setInt(4, n);
        try (ResultSet rows = query.executeQuery()) {
          while (rows.next()) {
            standings.add(new Standing(rows.getString(1), rows.getBigDecimal(2).longValueExact()));
          }
        }
      } catch (SQLException e) {
        throw new IllegalStateException(
            "cannot read the ranking from PostgreSQL: " + e.getMessage(), e);
      }
    }
    return standings;
  }

  private Entry lookup(int generation, String view, String key, String valkeyKey) {
    Map<String, Long> fields = new TreeMap<>();
    valkey
        .hgetAll(valkeyKey)
        .forEach(
            (field, value) -> {
              if (!field.startsWith("_")) {
                fields.put(field, Long.parseLong(value));
              }
            });
    if (!fields.isEmpty()) {
      return new Entry(Source.VALKEY, valkeyKey, fields);
    }
    if (jdbcUrl != null) {
      try (Connection connection = connect()) {
        Map<String, Long> stored = PostgresViewStore.values(connection, generation, view, key);
        if (!stored.isEmpty()) {
          return new Entry(Source.POSTGRES, valkeyKey, stored);
        }
      } catch (SQLException e) {
        throw new IllegalStateException(
            "cannot read " + view + "/" + key + " from PostgreSQL: " + e.getMessage(), e);
      }
    }
    return new Entry(Source.NONE, valkeyKey, Map.of());
  }

  private Connection connect() throws SQLException {
    return DriverManager.getConnection(jdbcUrl, user, password);
  }

  @Override
  public void close() {
    valkey.close();
  }
}
