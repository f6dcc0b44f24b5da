package dev.tally.common.views;

import io.valkey.UnifiedJedis;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;

/**
 * Knows whether Valkey holds a whole generation, and refills it from PostgreSQL when it does not.
 *
 * <p>Valkey is a cache of PostgreSQL. Each hash tag of a generation has a <em>completeness
 * marker</em> ({@link ViewKeys#complete}); it exists only while Valkey holds every entry of that
 * tag that PostgreSQL holds, or newer. A restart without persistence, a {@code FLUSHALL}, or a
 * cluster node losing its slots removes the markers with the data, so readers ({@link ViewClient})
 * know to read PostgreSQL instead of a partial entry. A warm-up applies PostgreSQL's partials to
 * Valkey through the same versioned script the job writes with (so it never takes a newer value
 * back), then sets the markers — only for tags whose warm-up token is still there, so a second loss
 * during the warm-up is never covered up.
 */
public final class CacheWarmer {

  /** Sets the marker only if the tag's warm-up token is still the one this warm-up wrote. */
  static final String MARK_COMPLETE =
      "if redis.call('GET', KEYS[1]) == ARGV[1] then"
          + " redis.call('SET', KEYS[2], ARGV[2]); redis.call('DEL', KEYS[1]); return 1 end"
          + " return 0";

  private static final String PARTIALS =
      "SELECT view, entry_key, writer, version, partial, rank_set, rank_member, rank_field"
          + " FROM view_partial WHERE generation = ?";

  /** Updates per {@link ValkeyViewStore#apply} call while warming. */
  private static final int BATCH = 5000;

  /**
   * What a warm-up did.
   *
   * @param rows partials read from PostgreSQL (of every tag)
   * @param warmed partials of the warmed tags sent to Valkey
   * @param applied of those, newer than what Valkey held
   * @param marked tags now marked complete
   * @param lostAgain tags that lost their token during the warm-up (a second loss): not marked
   */
  public record Result(
      long rows, long warmed, long applied, Set<Integer> marked, Set<Integer> lostAgain) {}

  /** Reports a warm-up's progress, e.g. to a log or a terminal. */
  public interface Progress {
    void partialsRead(long rows);
  }

  private CacheWarmer() {}

  /** The tags of {@code generation} whose completeness marker is absent. */
  public static Set<Integer> incompleteTags(UnifiedJedis valkey, int generation) {
    Set<Integer> missing = new TreeSet<>();
    for (int tag = 0; tag < ViewKeys.TAGS; tag++) {
      if (!valkey.exists(ViewKeys.complete(generation, tag))) {
        missing.add(tag);
      }
    }
    return missing;
  }

  /**
   * Refills the given tags of the store's generation from PostgreSQL and marks them complete. Also
   * restores {@code tally:generation} from PostgreSQL's {@code view_generation} when Valkey lost
   * it. Safe while the job writes: every partial goes through the version guard.
   */
  public static Result warm(
      ValkeyViewStore store, Connection postgres, Set<Integer> tags, Progress progress)
      throws SQLException {
    return warm(store, postgres, tags, progress, () -> {});
  }

  /** As above; {@code beforeMarking} runs between the refill and the markers (tests). */
  static Result warm(
      ValkeyViewStore store,
      Connection postgres,
      Set<Integer> tags,
      Progress progress,
      Runnable beforeMarking)
      throws SQLException {
    int generation = store.generation();
    UnifiedJedis valkey = store.client();
    String token = UUID.randomUUID().toString();
    for (int tag : tags) {
      valkey.set(ViewKeys.warming(generation, tag), token);
    }
    restorePointer(valkey, postgres);

    long rows = 0;
    long warmed = 0;
    long applied = 0;
    boolean autoCommit = postgres.getAutoCommit();
    // A cursor (fetch size without auto-commit): a generation may hold millions of partials.
    postgres.setAutoCommit(false);
    try (PreparedStatement query = postgres.prepareStatement(PARTIALS)) {
      query.setFetchSize(BATCH);
      query.setInt(1, generation);
      List<ViewUpdate> batch = new ArrayList<>(BATCH);
      try (ResultSet row = query.executeQuery()) {
        while (row.next()) {
          rows++;
          ViewUpdate update =
              new ViewUpdate(
                  row.getString(1),
                  row.getString(2),
                  row.getString(3),
                  row.getLong(4),
                  row.getString(5),
                  0);
          if (row.getString(6) != null) {
            update.rankedIn(row.getString(6), row.getString(7), row.getString(8));
          }
          if (!tags.contains(ViewKeys.tagOf(update))) {
            continue;
          }
          batch.add(update);
          if (batch.size() == BATCH) {
            applied += store.apply(batch).applied();
            warmed += batch.size();
            batch.clear();
          }
          if (progress != null && rows % 100_000 == 0) {
            progress.partialsRead(rows);
          }
        }
      }
      if (!batch.isEmpty()) {
        applied += store.apply(batch).applied();
        warmed += batch.size();
      }
      postgres.commit();
    } finally {
      postgres.setAutoCommit(autoCommit);
    }

    beforeMarking.run();
    Set<Integer> marked = new TreeSet<>();
    Set<Integer> lostAgain = new TreeSet<>();
    String when = Instant.now().toString();
    for (int tag : tags) {
      Object done =
          valkey.eval(
              MARK_COMPLETE,
              List.of(ViewKeys.warming(generation, tag), ViewKeys.complete(generation, tag)),
              List.of(token, when));
      (Long.valueOf(1).equals(done) ? marked : lostAgain).add(tag);
    }
    return new Result(rows, warmed, applied, marked, lostAgain);
  }

  /**
   * Marks tags complete without a warm-up: for a generation Valkey is known to hold whole (tests,
   * tools that wrote it themselves).
   */
  public static void markComplete(UnifiedJedis valkey, int generation, Set<Integer> tags) {
    String when = Instant.now().toString();
    for (int tag : tags) {
      valkey.set(ViewKeys.complete(generation, tag), when);
    }
  }

  /** {@code tally:generation} from PostgreSQL when Valkey has none (it lost it with the rest). */
  public static void restorePointer(UnifiedJedis valkey, Connection postgres) throws SQLException {
    try (PreparedStatement query =
            postgres.prepareStatement("SELECT current FROM view_generation");
        ResultSet row = query.executeQuery()) {
      if (row.next()) {
        valkey.setnx(ViewKeys.GENERATION_KEY, Integer.toString(row.getInt(1)));
      }
    }
  }

  /**
   * The server's {@code run_id} ({@code INFO server}): it changes when a standalone Valkey
   * restarts, which is how the job's cache warden notices a restart from an older snapshot. Null
   * when the reply has none. Needs {@code +info} for an ACL user (deploy/valkey/acl-rules.txt).
   */
  public static String runId(UnifiedJedis client) {
    Object reply = client.sendCommand(io.valkey.Protocol.Command.INFO, "server");
    String info =
        reply instanceof byte[] bytes
            ? new String(bytes, java.nio.charset.StandardCharsets.UTF_8)
            : String.valueOf(reply);
    for (String line : info.split("\r?\n")) {
      if (line.startsWith("run_id:")) {
        return line.substring("run_id:".length()).trim();
      }
    }
    return null;
  }
}
