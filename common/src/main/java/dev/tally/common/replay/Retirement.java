package dev.tally.common.replay;

import io.valkey.AbstractPipeline;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * What happens to generations readers are not served: retiring an old one (its Valkey keys expire
 * after a grace period, PostgreSQL records when its rows may be purged), bringing it back for a
 * rollback, discarding one not wanted, and purging the rows of those whose grace is over. The
 * retirement marker is {@code tally:generation:<gen>:retired}; PostgreSQL's record is the {@code
 * retired_generation} table (docs/runbook.md).
 */
public final class Retirement {

  /** A retired generation: until when it can be brought back. */
  public record Retired(int generation, Instant expiresAt) {}

  private final Generations generations;

  Retirement(Generations generations) {
    this.generations = generations;
  }

  /**
   * Takes a generation out of service: its Valkey keys expire after {@code grace}, and PostgreSQL
   * records when its rows may be purged. Returns the number of Valkey keys.
   */
  public int retire(int generation, Duration grace) {
    Set<String> keys = generations.keys(generation);
    long ms = grace.toMillis();
    generations.forEachBatch(keys, (pipeline, key) -> pipeline.pexpire(key, ms));
    generations
        .valkeyClient()
        .psetex(retiredMarker(generation), ms, Instant.now().plus(grace).toString());
    if (generations.hasPostgres()) {
      generations.sql(
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
    Integer servedInPostgres = generations.servedInPostgres();
    if (generations.servedInValkey() == generation
        || (servedInPostgres != null && servedInPostgres == generation)) {
      throw new IllegalStateException(
          "generation " + generation + " is served to readers: it cannot be discarded");
    }
    Set<String> keys = generations.keys(generation);
    generations.forEachBatch(keys, AbstractPipeline::del);
    generations.valkeyClient().del(retiredMarker(generation));
    int rows = 0;
    if (generations.hasPostgres()) {
      rows =
          generations.sql(
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
    Set<String> keys = generations.keys(generation);
    generations.forEachBatch(keys, AbstractPipeline::persist);
    generations.valkeyClient().del(retiredMarker(generation));
    if (generations.hasPostgres()) {
      generations.sql(
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
    String marker = generations.valkeyClient().get(retiredMarker(generation));
    return marker == null ? null : Instant.parse(marker);
  }

  /** Retired generations PostgreSQL knows of (empty without PostgreSQL). */
  public List<Retired> retired() {
    if (!generations.hasPostgres()) {
      return List.of();
    }
    return generations.sql(
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
    if (!generations.hasPostgres()) {
      return 0;
    }
    return generations.sql(
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

  static String retiredMarker(int generation) {
    return "tally:generation:" + generation + ":retired";
  }
}
