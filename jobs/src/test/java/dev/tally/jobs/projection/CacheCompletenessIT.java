package dev.tally.jobs.projection;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tally.common.views.CacheWarmer;
import dev.tally.common.views.ValkeyViewStore;
import dev.tally.common.views.ViewClient;
import dev.tally.jobs.views.ActivityView;
import dev.tally.jobs.views.LeaderboardView;
import dev.tally.jobs.views.UserScoreView;
import dev.tally.testing.FlinkMiniCluster;
import dev.tally.testing.KafkaBroker;
import dev.tally.testing.KafkaExtension;
import dev.tally.testing.PostgresExtension;
import dev.tally.testing.PostgresServer;
import dev.tally.testing.ValkeyExtension;
import dev.tally.testing.ValkeyServer;
import io.valkey.Jedis;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Valkey loses data three times while events stream in — a {@code FLUSHALL}, a crash without
 * persistence, a restart from an older snapshot — and a reader keeps reading through {@link
 * ViewClient}: no read is ever a partial entry (each user's event count is at least what it was
 * before the loss), reads go to PostgreSQL while Valkey is incomplete, the job refills Valkey from
 * PostgreSQL by itself, and in the end both stores equal the fold again, served from Valkey.
 */
@ExtendWith({KafkaExtension.class, ValkeyExtension.class, PostgresExtension.class})
class CacheCompletenessIT {

  @RegisterExtension static final MiniClusterExtension FLINK = FlinkMiniCluster.extension();

  private static final Duration PATIENCE = Duration.ofMinutes(2);

  @Test
  @Timeout(420)
  void readsNeverServeAPartialEntryWhenValkeyLosesItsData(
      KafkaBroker kafka, ValkeyServer valkey, PostgresServer postgres) throws Exception {
    ProjectionTestSetup setup =
        new ProjectionTestSetup("cache", kafka, valkey, postgres, Duration.ofMillis(500));
    ProducedLog log =
        new ProducedLog()
            .send(kafka.bootstrapServers(), setup.warmUp())
            .send(kafka.bootstrapServers(), setup.load(20_000, 0.05, 0.05, 0, 0.01));
    ExpectedViews before = ExpectedViews.fold(log.records());

    StreamExecutionEnvironment env = ProjectionTestSetup.job(setup.config, null);
    JobClient job = env.executeAsync("cache-completeness");
    Reader reader = new Reader(setup, before);
    Thread readerThread = new Thread(reader, "cache-reader");
    try {
      await(
          "the job to fold the first load and mark the cache complete",
          () ->
              complete(setup)
                  && ServedViews.valkey(setup.valkey, setup.generation, UserScoreView.NAME)
                      .equals(before.userScore));
      readerThread.start();
      await("the reader's first reads", () -> reader.reads() > 200);
      assertThat(reader.bySource.get(ViewClient.Source.VALKEY).get())
          .as("a complete cache answers from Valkey")
          .isPositive();

      try (Jedis jedis = valkey.client()) {
        jedis.flushAll();
      }
      log.send(
          kafka.bootstrapServers(),
          setup.load(3_000, 0, 0, 0, 0).withSeed(3).withFractions(0, 0, 0, 0),
          2_000);
      await("the job to refill Valkey after FLUSHALL", () -> complete(setup));
      long postgresReadsAfterFlush = reader.bySource.get(ViewClient.Source.POSTGRES).get();

      valkey.crash(Duration.ofSeconds(1));
      log.send(
          kafka.bootstrapServers(),
          setup.load(3_000, 0, 0, 0, 0).withSeed(4).withFractions(0, 0, 0, 0),
          2_000);
      await("the job to refill Valkey after a crash", () -> complete(setup));

      // A restart from an older snapshot: markers and entries come back as they were at SAVE.
      try (Jedis jedis = valkey.client()) {
        jedis.save();
      }
      log.send(
          kafka.bootstrapServers(),
          setup.load(3_000, 0, 0, 0, 0).withSeed(5).withFractions(0, 0, 0, 0),
          3_000);
      Thread.sleep(1_500); // the job writes those updates after the snapshot
      valkey.restartFromLastSnapshot(Duration.ofSeconds(1));
      log.send(
          kafka.bootstrapServers(),
          setup.load(500, 0, 0, 0, 0).withSeed(6).withFractions(0, 0, 0, 0),
          2_000);
      await("the job to refill Valkey after a restart from a snapshot", () -> complete(setup));

      ExpectedViews after = ExpectedViews.fold(log.records());
      await(
          "Valkey and PostgreSQL to equal the fold",
          () ->
              ServedViews.valkey(setup.valkey, setup.generation, UserScoreView.NAME)
                      .equals(after.userScore)
                  && ServedViews.valkey(setup.valkey, setup.generation, LeaderboardView.NAME)
                      .equals(after.leaderboard)
                  && ServedViews.postgres(
                          setup.schema.jdbcUrl(), setup.generation, UserScoreView.NAME)
                      .equals(after.userScore)
                  && ServedViews.valkey(setup.valkey, setup.generation, ActivityView.NAME)
                      .equals(
                          ServedViews.postgres(
                              setup.schema.jdbcUrl(), setup.generation, ActivityView.NAME)));
      long valkeyReads = reader.bySource.get(ViewClient.Source.VALKEY).get();
      await(
          "reads from the refilled Valkey",
          () -> reader.bySource.get(ViewClient.Source.VALKEY).get() > valkeyReads + 100);

      reader.stop.set(true);
      readerThread.join(10_000);
      assertThat(reader.failures).as("reads that failed").isEmpty();
      assertThat(reader.violations).as("partial or missing entries served").isEmpty();
      assertThat(postgresReadsAfterFlush)
          .as("while Valkey was incomplete, PostgreSQL answered")
          .isPositive();
      assertThat(reader.bySource.get(ViewClient.Source.POSTGRES).get())
          .as("… after the crash too")
          .isGreaterThan(postgresReadsAfterFlush);
    } finally {
      reader.stop.set(true);
      job.cancel().get(1, TimeUnit.MINUTES);
    }
  }

  private static boolean complete(ProjectionTestSetup setup) {
    try (ValkeyViewStore store = new ValkeyViewStore(setup.valkey, setup.generation, 1000)) {
      return CacheWarmer.incompleteTags(store.client(), setup.generation).isEmpty();
    } catch (RuntimeException valkeyDown) {
      return false;
    }
  }

  interface Condition {
    boolean holds() throws Exception;
  }

  private static void await(String what, Condition condition) throws Exception {
    long deadline = System.nanoTime() + PATIENCE.toNanos();
    while (!condition.holds()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting for " + what);
      }
      Thread.sleep(200);
    }
  }

  /**
   * Reads users' scores in a loop. The events only add, so a user's served event count may never be
   * below the count before the losses: a partial entry (some lane's partial missing) or a missing
   * one would be.
   */
  private static final class Reader implements Runnable {
    final AtomicBoolean stop = new AtomicBoolean();
    final Map<ViewClient.Source, java.util.concurrent.atomic.AtomicLong> bySource =
        new EnumMap<>(ViewClient.Source.class);
    final ConcurrentLinkedQueue<String> violations = new ConcurrentLinkedQueue<>();
    final ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
    private final ProjectionTestSetup setup;
    private final List<Map.Entry<String, Long>> floor = new ArrayList<>();

    Reader(ProjectionTestSetup setup, ExpectedViews before) {
      this.setup = setup;
      for (ViewClient.Source source : ViewClient.Source.values()) {
        bySource.put(source, new java.util.concurrent.atomic.AtomicLong());
      }
      // Every 7th user: a few hundred, each with partials from several lanes.
      int i = 0;
      for (Map.Entry<String, Map<String, Long>> user : before.userScore.entrySet()) {
        if (i++ % 7 == 0) {
          floor.add(Map.entry(user.getKey(), user.getValue().get("events")));
        }
      }
    }

    long reads() {
      return bySource.values().stream()
          .mapToLong(java.util.concurrent.atomic.AtomicLong::get)
          .sum();
    }

    @Override
    public void run() {
      try (ViewClient client =
          new ViewClient(
              setup.valkey, setup.schema.jdbcUrl(), setup.schema.user(), setup.schema.password())) {
        while (!stop.get()) {
          for (Map.Entry<String, Long> user : floor) {
            if (stop.get()) {
              return;
            }
            ViewClient.Entry entry;
            try {
              entry = client.entry(setup.generation, UserScoreView.NAME, user.getKey());
            } catch (RuntimeException e) {
              // Valkey down is PostgreSQL's to answer: no read may fail here.
              failures.add(e.toString());
              continue;
            }
            bySource.get(entry.source()).incrementAndGet();
            Long events = entry.fields().get("events");
            if (events == null || events < user.getValue()) {
              if (violations.size() < 20) {
                violations.add(
                    user.getKey()
                        + " from "
                        + entry.source()
                        + ": "
                        + entry.fields()
                        + ", expected events >= "
                        + user.getValue());
              }
            }
          }
        }
      }
    }
  }
}
