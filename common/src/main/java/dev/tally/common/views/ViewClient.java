package dev.tally.common.views;

import io.valkey.UnifiedJedis;
import io.valkey.exceptions.JedisException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * How an API layer reads the views. Valkey answers when it holds the entry's whole tag (its
 * completeness marker is there, checked in the same atomic read as the entry: {@link CacheWarmer});
 * PostgreSQL answers when Valkey lost data and is being refilled, or is down. A partial entry is
 * never served: with the marker gone and PostgreSQL unreachable the read fails, naming both.
 *
 * <p>The served generation is {@code tally:generation} in Valkey; when Valkey has none (a store
 * that lost it, or a job that never wrote it) PostgreSQL's {@code view_generation}, else 1. Read it
 * once ({@link #generation()}) and pass it to every read of one response, so a page never mixes
 * generations across a cutover.
 *
 * <p>Without a PostgreSQL URL the client reads Valkey only and ignores the markers (jobs run
 * without PostgreSQL write none).
 */
public final class ViewClient implements AutoCloseable {

  /** Where a value was found. */
  public enum Source {
    VALKEY,
    POSTGRES,
    NONE
  }

  /**
   * An entry's served fields.
   *
   * @param version the served version ({@code _v}: the sum of the writers' versions; grows with
   *     every change, so it makes an ETag); 0 when not found
   */
  public record Entry(
      Source source, int generation, String valkeyKey, long version, Map<String, Long> fields) {}

  /** One ranked member. */
  public record Standing(String member, long score) {}

  /** A ranking's top and where it came from. */
  public record Ranking(Source source, int generation, List<Standing> standings) {}

  /** A ranked member with its rank (1 = first). */
  public record Placed(long rank, String member, long score) {}

  /**
   * A member's place in a ranking and the members around it.
   *
   * @param member null when the member is not ranked
   * @param around up to {@code n} members above and below, the member included, best first
   */
  public record Neighbourhood(Source source, int generation, Placed member, List<Placed> around) {}

  /** {marker there (1) or not (0), HGETALL…}, atomically. */
  static final String READ_ENTRY =
      "local hash = redis.call('HGETALL', KEYS[2])"
          + " table.insert(hash, 1, redis.call('EXISTS', KEYS[1])) return hash";

  /** {marker there (1) or not (0), member, score, …}, atomically. */
  static final String READ_TOP =
      "local top = redis.call('ZREVRANGE', KEYS[2], 0, tonumber(ARGV[1]) - 1, 'WITHSCORES')"
          + " table.insert(top, 1, redis.call('EXISTS', KEYS[1])) return top";

  /**
   * {marker (1/0)} when the member is not ranked, else {marker, its 0-based rank, the first rank
   * listed, member, score, …} — the member and {@code n} on each side, atomically.
   */
  static final String READ_RANK =
      "local out = {redis.call('EXISTS', KEYS[1])}"
          + " local r = redis.call('ZREVRANK', KEYS[2], ARGV[1])"
          + " if not r then return out end"
          + " local from = math.max(0, r - tonumber(ARGV[2]))"
          + " out[2] = r out[3] = from"
          + " local around = redis.call('ZREVRANGE', KEYS[2], from, r + tonumber(ARGV[2]),"
          + " 'WITHSCORES')"
          + " for i = 1, #around do out[3 + i] = around[i] end"
          + " return out";

  /**
   * Ranking order in PostgreSQL as Valkey's sorted sets order it: score descending, ties by member
   * in descending byte order.
   */
  private static final String RANK_ORDER =
      "ORDER BY (value ->> rank_field)::numeric DESC, rank_member COLLATE \"C\" DESC";

  private final UnifiedJedis valkey;
  private final String jdbcUrl;
  private final String user;
  private final String password;
  private volatile com.zaxxer.hikari.HikariDataSource pool;

  /**
   * @param jdbcUrl null to read Valkey only
   */
  public ViewClient(ValkeyEndpoint endpoint, String jdbcUrl, String user, String password) {
    this.valkey = endpoint.connect();
    this.jdbcUrl = jdbcUrl;
    this.user = user;
    this.password = password;
  }

  /**
   * The generation readers are served: Valkey's pointer; PostgreSQL's when Valkey has none or is
   * down; 1 when neither says.
   */
  public int generation() {
    try {
      String pointer = valkey.get(ViewKeys.GENERATION_KEY);
      if (pointer != null) {
        return Integer.parseInt(pointer);
      }
    } catch (JedisException e) {
      if (jdbcUrl == null) {
        throw unreachable("the served generation", e, null);
      }
    }
    if (jdbcUrl != null) {
      try (Connection connection = connect();
          ResultSet row =
              connection.createStatement().executeQuery("SELECT current FROM view_generation")) {
        if (row.next()) {
          return row.getInt(1);
        }
      } catch (SQLException e) {
        // Valkey has no pointer and PostgreSQL cannot say: the documented default.
        return 1;
      }
    }
    return 1;
  }

  /** An unranked entry of the served generation, e.g. {@code entry("user_score", "user-7")}. */
  public Entry entry(String view, String key) {
    return entry(generation(), view, key);
  }

  /** An unranked entry of {@code generation}. */
  public Entry entry(int generation, String view, String key) {
    int tag = ViewKeys.tag(ViewKeys.tagSource(view, key));
    return lookup(generation, view, key, tag, ViewKeys.entry(generation, view, key, tag));
  }

  /**
   * An entry ranked in {@code set}, e.g. {@code rankedEntry("leaderboard", "hunt-3",
   * "hunt-3|user-7")}.
   */
  public Entry rankedEntry(String view, String set, String key) {
    return rankedEntry(generation(), view, set, key);
  }

  /** An entry of {@code generation} ranked in {@code set}. */
  public Entry rankedEntry(int generation, String view, String set, String key) {
    int tag = ViewKeys.tag(ViewKeys.tagSource(view, set));
    return lookup(generation, view, key, tag, ViewKeys.entry(generation, view, key, tag));
  }

  /** The top {@code n} of a ranking of the served generation, highest first. */
  public List<Standing> top(String view, String set, int n) {
    return ranking(generation(), view, set, n).standings();
  }

  /** The top {@code n} of a ranking of {@code generation}, highest first. */
  public Ranking ranking(int generation, String view, String set, int n) {
    int tag = ViewKeys.tag(ViewKeys.tagSource(view, set));
    return read(
        view + " ranking " + set,
        READ_TOP,
        ViewKeys.complete(generation, tag),
        ViewKeys.rank(generation, view, set, tag),
        List.of(Integer.toString(n)),
        reply -> {
          List<Standing> standings = new ArrayList<>();
          for (int i = 1; i + 1 < reply.size(); i += 2) {
            standings.add(new Standing((String) reply.get(i), score(reply.get(i + 1))));
          }
          return new Ranking(Source.VALKEY, generation, standings);
        },
        connection -> {
          try (PreparedStatement query =
              connection.prepareStatement(
                  "SELECT rank_member, (value ->> rank_field)::numeric AS score FROM view_value"
                      + " WHERE generation = ? AND view = ? AND rank_set = ? "
                      + RANK_ORDER
                      + " LIMIT ?")) {
            query.setInt(1, generation);
            query.setString(2, view);
            query.setString(3, set);
            query.setInt(4, n);
            List<Standing> standings = new ArrayList<>();
            try (ResultSet rows = query.executeQuery()) {
              while (rows.next()) {
                standings.add(
                    new Standing(rows.getString(1), rows.getBigDecimal(2).longValueExact()));
              }
            }
            return new Ranking(Source.POSTGRES, generation, standings);
          }
        });
  }

  /** Where {@code member} ranks in a ranking of {@code generation}, with {@code n} on each side. */
  public Neighbourhood rank(int generation, String view, String set, String member, int n) {
    int tag = ViewKeys.tag(ViewKeys.tagSource(view, set));
    return read(
        view + " ranking " + set,
        READ_RANK,
        ViewKeys.complete(generation, tag),
        ViewKeys.rank(generation, view, set, tag),
        List.of(member, Integer.toString(n)),
        reply -> {
          List<Placed> around = new ArrayList<>();
          if (reply.size() >= 3) {
            long first = (Long) reply.get(2);
            for (int i = 3; i + 1 < reply.size(); i += 2) {
              around.add(
                  new Placed(
                      first + 1 + (i - 3) / 2, (String) reply.get(i), score(reply.get(i + 1))));
            }
          }
          return neighbourhood(Source.VALKEY, generation, member, around);
        },
        connection -> {
          try (PreparedStatement query =
              connection.prepareStatement(
                  "WITH ranked AS (SELECT rank_member, (value ->> rank_field)::numeric AS score,"
                      + " row_number() OVER ("
                      + RANK_ORDER
                      + ") AS place FROM view_value"
                      + " WHERE generation = ? AND view = ? AND rank_set = ?)"
                      + " SELECT r.place, r.rank_member, r.score FROM ranked r,"
                      + " (SELECT place FROM ranked WHERE rank_member = ?) m"
                      + " WHERE r.place BETWEEN m.place - ? AND m.place + ? ORDER BY r.place")) {
            query.setInt(1, generation);
            query.setString(2, view);
            query.setString(3, set);
            query.setString(4, member);
            query.setInt(5, n);
            query.setInt(6, n);
            List<Placed> around = new ArrayList<>();
            try (ResultSet rows = query.executeQuery()) {
              while (rows.next()) {
                around.add(
                    new Placed(
                        rows.getLong(1),
                        rows.getString(2),
                        rows.getBigDecimal(3).longValueExact()));
              }
            }
            return neighbourhood(Source.POSTGRES, generation, member, around);
          }
        });
  }

  private static Neighbourhood neighbourhood(
      Source source, int generation, String member, List<Placed> around) {
    Placed self = around.stream().filter(p -> p.member().equals(member)).findFirst().orElse(null);
    return new Neighbourhood(source, generation, self, self == null ? List.of() : around);
  }

  /** A sorted-set score as Valkey's scripts return it (text), as a whole number. */
  private static long score(Object text) {
    return (long) Double.parseDouble((String) text);
  }

  private Entry lookup(int generation, String view, String key, int tag, String valkeyKey) {
    return read(
        view + "/" + key,
        READ_ENTRY,
        ViewKeys.complete(generation, tag),
        valkeyKey,
        List.of(),
        reply -> {
          Map<String, Long> fields = new TreeMap<>();
          long version = 0;
          for (int i = 1; i + 1 < reply.size(); i += 2) {
            String field = (String) reply.get(i);
            String value = (String) reply.get(i + 1);
            if (field.equals("_v")) {
              version = Long.parseLong(value);
            } else if (!field.startsWith("_")) {
              fields.put(field, Long.parseLong(value));
            }
          }
          // With the marker there, an entry Valkey lacks is one PostgreSQL lacks too.
          return new Entry(
              fields.isEmpty() ? Source.NONE : Source.VALKEY,
              generation,
              valkeyKey,
              version,
              fields);
        },
        connection -> {
          PostgresViewStore.Served served =
              PostgresViewStore.served(connection, generation, view, key);
          return served == null
              ? new Entry(Source.NONE, generation, valkeyKey, 0, Map.of())
              : new Entry(
                  Source.POSTGRES, generation, valkeyKey, served.version(), served.fields());
        });
  }

  /** A read of PostgreSQL, on a pooled connection. */
  private interface FromPostgres<T> {
    T read(Connection connection) throws SQLException;
  }

  /**
   * The one read path: a read-only script returning {@code {marker present (1/0), …}} over the
   * tag's marker and {@code key}; Valkey's answer when the marker is there (or no PostgreSQL is
   * configured), PostgreSQL's when it is not or Valkey fails; an error naming both when neither can
   * answer.
   */
  private <T> T read(
      String what,
      String script,
      String marker,
      String key,
      List<String> args,
      java.util.function.Function<List<?>, T> fromValkey,
      FromPostgres<T> fromPostgres) {
    JedisException valkeyFailure = null;
    try {
      List<?> reply = (List<?>) valkey.evalReadonly(script, List.of(marker, key), args);
      if (complete(reply) || jdbcUrl == null) {
        return fromValkey.apply(reply);
      }
    } catch (JedisException e) {
      if (jdbcUrl == null) {
        throw unreachable(what, e, null);
      }
      valkeyFailure = e;
    }
    try (Connection connection = connect()) {
      return fromPostgres.read(connection);
    } catch (SQLException e) {
      throw unreachable(what, valkeyFailure, e);
    }
  }

  private static boolean complete(List<?> reply) {
    return !reply.isEmpty() && Long.valueOf(1).equals(reply.get(0));
  }

  /** No store can answer: Valkey down or incomplete, PostgreSQL down (or not configured). */
  private static IllegalStateException unreachable(
      String what, JedisException valkey, SQLException postgres) {
    String valkeyPart =
        valkey == null
            ? "Valkey is being refilled (its completeness marker is gone)"
            : "Valkey is unreachable (" + valkey.getMessage() + ")";
    String postgresPart =
        postgres == null
            ? "no PostgreSQL is configured"
            : "PostgreSQL is unreachable (" + postgres.getMessage() + ")";
    IllegalStateException failure =
        new IllegalStateException(
            "cannot read " + what + ": " + valkeyPart + " and " + postgresPart);
    if (postgres != null) {
      failure.addSuppressed(postgres);
    }
    return failure;
  }

  /** A pooled connection (HikariCP; the pool opens on first use, so PostgreSQL may be down). */
  private Connection connect() throws SQLException {
    com.zaxxer.hikari.HikariDataSource current = pool;
    if (current == null) {
      synchronized (this) {
        if (pool == null) {
          com.zaxxer.hikari.HikariConfig config = new com.zaxxer.hikari.HikariConfig();
          config.setJdbcUrl(jdbcUrl);
          config.setUsername(user);
          config.setPassword(password);
          config.setMaximumPoolSize(8);
          config.setMinimumIdle(0);
          config.setConnectionTimeout(2_000);
          config.setInitializationFailTimeout(-1);
          config.setPoolName("tally-view-client");
          pool = new com.zaxxer.hikari.HikariDataSource(config);
        }
        current = pool;
      }
    }
    return current.getConnection();
  }

  @Override
  public void close() {
    valkey.close();
    if (pool != null) {
      pool.close();
    }
  }
}
