package dev.tally.jobs.sinks;

import dev.tally.common.views.CacheWarmer;
import dev.tally.common.views.ValkeyEndpoint;
import dev.tally.common.views.ValkeyViewStore;
import dev.tally.common.views.ViewKeys;
import java.io.Serializable;
import java.sql.Connection;
import java.sql.DriverManager;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps Valkey a complete cache of PostgreSQL for one generation, from inside the job: one writer
 * of the job (the first lane's projection writer, subtask 0) runs it on a thread of its own.
 *
 * <p>At every checkpoint barrier it reaches, it looks at the 64 completeness markers ({@link
 * CacheWarmer}). When some are gone (Valkey lost data, or the generation is new), it waits for the
 * third barrier after: by then the second checkpoint after the loss has completed (one checkpoint
 * at a time), and a PostgreSQL writer has committed, at each barrier, everything it was given
 * before the barrier before ({@link BatchedWriter.AtBarrier#CARRY_OVER}) — so PostgreSQL holds
 * everything Valkey was sent before the loss. Then it warms the missing tags from PostgreSQL and
 * marks them complete. Until then readers read PostgreSQL. A failed warm-up (say, PostgreSQL down)
 * is logged and tried again at the next barrier; it never fails the job.
 *
 * <p>Metrics ({@code tally} group): {@code cacheWarmUps}, {@code cacheIncompleteTags}.
 */
final class CacheWarden implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(CacheWarden.class);

  /** Barriers to wait after seeing markers gone before reading PostgreSQL. */
  static final int BARRIERS_BEFORE_WARM_UP = 3;

  /** PostgreSQL, where a warm-up reads from. */
  public record Source(String jdbcUrl, String user, String password) implements Serializable {
    @Override
    public String toString() {
      return "Source[" + jdbcUrl + ", user " + user + "]";
    }
  }

  private final ValkeyEndpoint endpoint;
  private final int generation;
  private final Source postgres;
  private final ExecutorService thread;
  private final Counter warmUps;
  private final AtomicInteger incomplete = new AtomicInteger(-1);

  // Only touched on the warden's thread.
  private ValkeyViewStore store;
  private long barriers;
  private Set<Integer> pending;
  private long seenAt;
  private String runId;
  private boolean infoRefusedLogged;

  CacheWarden(
      ValkeyEndpoint endpoint, int generation, Source postgres, MetricGroup metrics, String name) {
    this.endpoint = endpoint;
    this.generation = generation;
    this.postgres = postgres;
    this.thread =
        Executors.newSingleThreadExecutor(
            runnable -> {
              Thread t = new Thread(runnable, name);
              t.setDaemon(true);
              return t;
            });
    MetricGroup group = metrics.addGroup("tally");
    this.warmUps = group.counter("cacheWarmUps");
    group.gauge("cacheIncompleteTags", incomplete::get);
    thread.execute(this::check);
  }

  /** A checkpoint barrier reached the writer (task thread; returns at once). */
  void barrier() {
    thread.execute(
        () -> {
          barriers++;
          check();
        });
  }

  /** On the warden's thread. */
  private void check() {
    try {
      if (store == null) {
        store = new ValkeyViewStore(endpoint, generation, ValkeySink.MAX_PER_CALL);
      }
      suspectRestart();
      Set<Integer> missing = CacheWarmer.incompleteTags(store.client(), generation);
      incomplete.set(missing.size());
      if (missing.isEmpty()) {
        pending = null;
        if (!store.client().exists(ViewKeys.GENERATION_KEY)) {
          // Readers would ask PostgreSQL for the served generation on every read.
          try (Connection connection = connect()) {
            CacheWarmer.restorePointer(store.client(), connection);
          }
        }
        return;
      }
      if (pending == null) {
        pending = missing;
        seenAt = barriers;
        LOG.warn(
            "Valkey lacks {} of {} completeness markers of generation {}: readers use PostgreSQL;"
                + " refilling after {} checkpoint barriers",
            missing.size(),
            ViewKeys.TAGS,
            generation,
            BARRIERS_BEFORE_WARM_UP);
        return;
      }
      pending.addAll(missing);
      if (barriers - seenAt < BARRIERS_BEFORE_WARM_UP) {
        return;
      }
      long started = System.nanoTime();
      CacheWarmer.Result result;
      try (Connection connection = connect()) {
        result =
            CacheWarmer.warm(
                store,
                connection,
                pending,
                rows -> LOG.info("cache warm-up: {} partials read", rows));
      }
      warmUps.inc();
      LOG.info(
          "cache warm-up of generation {}: {} tags, {} partials read, {} of them in those tags"
              + " sent, {} newer than Valkey's, in {} ms; {} tags marked complete{}",
          generation,
          pending.size(),
          result.rows(),
          result.warmed(),
          result.applied(),
          TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started),
          result.marked().size(),
          result.lostAgain().isEmpty()
              ? ""
              : ", " + result.lostAgain().size() + " lost again meanwhile (next barrier)");
      pending = result.lostAgain().isEmpty() ? null : result.lostAgain();
      seenAt = barriers;
      incomplete.set(CacheWarmer.incompleteTags(store.client(), generation).size());
    } catch (Exception e) {
      LOG.warn(
          "cache check of generation {} failed ({}); trying again at the next barrier",
          generation,
          e.toString());
      if (store != null) {
        try {
          store.close();
        } catch (RuntimeException closing) {
          // Dropped either way.
        }
        store = null;
      }
    }
  }

  /**
   * A Valkey that restarted may have loaded an older snapshot (RDB): its markers came back with
   * data older than what the job wrote since. Seen by its {@code run_id} changing: the markers go
   * at once (readers move to PostgreSQL) and every tag is refilled like after a loss. Standalone
   * servers only (a cluster's nodes each have their own).
   */
  private void suspectRestart() {
    if (endpoint.cluster()) {
      return;
    }
    String now;
    try {
      now = CacheWarmer.runId(store.client());
    } catch (io.valkey.exceptions.JedisDataException refused) {
      // NOPERM: an ACL user without INFO (deploy/valkey/acl-rules.txt grants it). Said once: a
      // restart from an older snapshot would then go unnoticed, and readers see stale entries.
      if (!infoRefusedLogged) {
        infoRefusedLogged = true;
        LOG.warn(
            "Valkey refused INFO ({}): a Valkey restart from an older snapshot cannot be"
                + " noticed; grant the job's user +info",
            refused.getMessage());
      }
      return;
    }
    if (now != null && runId != null && !runId.equals(now)) {
      LOG.warn(
          "Valkey restarted (run_id {} -> {}): it may hold an older snapshot; generation {}'s"
              + " markers dropped, refilling every tag from PostgreSQL",
          runId,
          now,
          generation);
      for (int tag = 0; tag < ViewKeys.TAGS; tag++) {
        store.client().del(ViewKeys.complete(generation, tag));
      }
    }
    runId = now;
  }

  private Connection connect() throws java.sql.SQLException {
    return DriverManager.getConnection(postgres.jdbcUrl(), postgres.user(), postgres.password());
  }

  @Override
  public void close() throws InterruptedException {
    thread.shutdownNow();
    thread.awaitTermination(10, TimeUnit.SECONDS);
    if (store != null) {
      store.close();
    }
  }
}
