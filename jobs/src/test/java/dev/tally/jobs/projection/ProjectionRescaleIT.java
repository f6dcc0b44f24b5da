package dev.tally.jobs.projection;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tally.common.flink.JobArguments;
import dev.tally.common.views.ViewKeys;
import dev.tally.jobs.views.UserScoreView;
import dev.tally.testing.FlinkMiniCluster;
import dev.tally.testing.KafkaBroker;
import dev.tally.testing.KafkaExtension;
import dev.tally.testing.PostgresExtension;
import dev.tally.testing.PostgresServer;
import dev.tally.testing.ValkeyExtension;
import dev.tally.testing.ValkeyServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.runtime.checkpoint.RestoredCheckpointStats;
import org.apache.flink.runtime.executiongraph.AccessExecutionJobVertex;
import org.apache.flink.runtime.executiongraph.ArchivedExecutionGraph;
import org.apache.flink.runtime.jobgraph.SavepointRestoreSettings;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.graph.StreamGraph;
import org.apache.flink.test.junit5.InjectMiniCluster;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Rescale with state: the projection runs at parallelism 2, is stopped with a savepoint while
 * events still arrive, restarts from it at 4 (its keyed state — dedup ids, user records, standings
 * — spread over two TaskManagers), is stopped again and finishes at 1. Ids re-sent after each
 * rescale were first seen before it, by other subtasks: they must still be dropped. The views end
 * equal to a fold of the log, a hot entry polled throughout never goes back.
 */
@ExtendWith({KafkaExtension.class, ValkeyExtension.class, PostgresExtension.class})
class ProjectionRescaleIT {

  // Flink now and then declines a stop-with-savepoint (the lane sources' union state while one of
  // a vertex's subtasks has stopped before the other): the tasks fail and restart, one restart per
  // lane's region, and the stop is tried again. Room for that beside the default's 3 attempts.
  @RegisterExtension
  static final MiniClusterExtension FLINK =
      FlinkMiniCluster.extension(
          2,
          2,
          config -> {
            config.set(
                org.apache.flink.configuration.RestartStrategyOptions
                    .RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS,
                20);
            return config;
          });

  private static final long PRELOADED = 40_000;
  private static final long WHILE_RUNNING = 60_000;
  private static final double RATE = 8_000;
  private static final int RESENT = 3_000;
  private static final String HOT_USER = "user-0";

  @Test
  @Timeout(600)
  void stateMovesAcrossParallelismsAndNothingIsLostOrCountedTwice(
      KafkaBroker kafka,
      ValkeyServer valkey,
      PostgresServer postgres,
      @InjectMiniCluster MiniCluster miniCluster)
      throws Exception {
    ProjectionTestSetup setup =
        new ProjectionTestSetup("rescale", kafka, valkey, postgres, Duration.ofMillis(500));
    String bootstrap = kafka.bootstrapServers();
    ProducedLog before =
        new ProducedLog()
            .send(bootstrap, setup.warmUp())
            .send(bootstrap, setup.load(PRELOADED, 0.03, 0.03, 0.01, 0.01));
    long firstLoadEnd = ProjectionTestSetup.WARM_UP_RECORDS + PRELOADED;

    HotKeyReader reader =
        new HotKeyReader(
            setup.valkey.connect(), ViewKeys.entry(setup.generation, UserScoreView.NAME, HOT_USER));
    Thread readerThread = new Thread(reader, "hot-key-reader");
    readerThread.start();
    try {
      // At 2: catch up with the preloaded log, then stop with a savepoint while more arrives.
      JobClient atTwo = start(setup, 2, null);
      awaitUserScores(setup, before.records());
      ProducedLog during = new ProducedLog();
      CompletableFuture<Void> producing =
          CompletableFuture.runAsync(
              () ->
                  during.send(
                      bootstrap,
                      setup.loadAfter(firstLoadEnd, 3, WHILE_RUNNING, 0.03, 0.03, 0.01, 0.01),
                      RATE));
      Thread.sleep(2_000);
      String first = stopWithSavepoint(atTwo);
      assertThat(producing).as("stopped while events still arrived").isNotDone();

      // At 4 from the savepoint, over two TaskManagers; ids first seen at 2 are sent again.
      JobClient atFour = start(setup, 4, first);
      producing.get(2, TimeUnit.MINUTES);
      List<ProducedLog.Sent> resentAtFour = sample(before.records());
      ProducedLog againAtFour = new ProducedLog().sendAgain(bootstrap, setup.prefix, resentAtFour);
      List<ProducedLog.Sent> log = new ArrayList<>(before.records());
      log.addAll(during.records());
      log.addAll(againAtFour.records());
      awaitUserScores(setup, log);
      // Checked while it runs: a declined stop below would restart it from its own checkpoint.
      assertRestored(miniCluster, atFour, first, 4);
      String second = stopWithSavepoint(atFour);

      // At 1 from the second savepoint; ids seen at 2 and 4 come again. (Restored Kafka splits
      // keep the bounds they were saved with, so this job cannot be bounded afresh: it is stopped
      // with a savepoint once caught up, which also has every writer flush.)
      List<ProducedLog.Sent> resentAtOne = sample(during.records());
      ProducedLog againAtOne = new ProducedLog().sendAgain(bootstrap, setup.prefix, resentAtOne);
      log.addAll(againAtOne.records());
      JobClient atOne = start(setup, 1, second);
      awaitUserScores(setup, log);
      assertRestored(miniCluster, atOne, second, 1);
      stopWithSavepoint(atOne);

      assertThat(
              resentAtFour.stream().filter(s -> !s.record().kind().malformed()).count()
                  + resentAtOne.stream().filter(s -> !s.record().kind().malformed()).count())
          .as("valid events sent again after a rescale")
          .isGreaterThan(RESENT);
      ExpectedViews expected = ExpectedViews.fold(log);
      ServedViews.assertAllEqual(setup, expected);
      assertThat(ServedViews.deadLetters(kafka, setup.deadLetterTopic()).keySet())
          .isEqualTo(expected.deadLetters);
    } finally {
      reader.stop.set(true);
      readerThread.join(10_000);
    }
    assertThat(reader.backwards).as("the hot key never went backwards").isEmpty();
    assertThat(reader.distinctVersions).as("the reader saw the key change").isGreaterThan(10);
  }

  /** The projection at {@code parallelism}, unbounded, from a savepoint when given. */
  private static JobClient start(ProjectionTestSetup setup, int parallelism, String savepoint)
      throws Exception {
    ProjectionConfig config =
        setup.variant(
            setup.generation,
            setup.config.sources().groupId(),
            parallelism,
            setup.config.state().dedupHorizon());
    StreamExecutionEnvironment env = ProjectionTestSetup.job(config, null);
    StreamGraph graph = env.getStreamGraph();
    graph.setJobName("rescale-" + parallelism);
    if (savepoint != null) {
      graph.setSavepointRestoreSettings(SavepointRestoreSettings.forPath(savepoint, false));
    }
    return env.executeAsync(graph);
  }

  /** Waits until Valkey's user_score view equals a fold of {@code log}: the job caught up. */
  private static void awaitUserScores(ProjectionTestSetup setup, List<ProducedLog.Sent> log)
      throws InterruptedException {
    var expected = ExpectedViews.fold(log).userScore;
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
    while (System.nanoTime() < deadline) {
      if (ServedViews.valkey(setup.valkey, setup.generation, UserScoreView.NAME).equals(expected)) {
        return;
      }
      Thread.sleep(500);
    }
    throw new AssertionError("user_score did not reach the fold of " + log.size() + " records");
  }

  /** Stops with a savepoint, trying again while tasks are still starting. */
  private static String stopWithSavepoint(JobClient job) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
    while (true) {
      try {
        return job.stopWithSavepoint(false, null, SavepointFormatType.CANONICAL)
            .get(1, TimeUnit.MINUTES);
      } catch (Exception notYet) {
        // Tasks still starting, or a declined savepoint (the job restarts its tasks and runs on):
        // again, until the job has ended for good or the deadline passes.
        if (System.nanoTime() > deadline || job.getJobStatus().get().isGloballyTerminalState()) {
          throw notYet;
        }
        Thread.sleep(500);
      }
    }
  }

  /** The job restored {@code savepoint} and ran its projection at {@code parallelism}. */
  private static void assertRestored(
      MiniCluster miniCluster, JobClient job, String savepoint, int parallelism) throws Exception {
    ArchivedExecutionGraph graph = miniCluster.getArchivedExecutionGraph(job.getJobID()).get();
    RestoredCheckpointStats restored =
        graph.getCheckpointStatsSnapshot().getLatestRestoredCheckpoint();
    assertThat(restored).as("restored from a savepoint").isNotNull();
    assertThat(restored.getExternalPath()).isEqualTo(savepoint);
    List<Integer> projections = new ArrayList<>();
    for (AccessExecutionJobVertex vertex : graph.getVerticesTopologically()) {
      assertThat(vertex.getMaxParallelism()).isEqualTo(JobArguments.MAX_PARALLELISM);
      if (vertex.getName().startsWith("project")) {
        projections.add(vertex.getParallelism());
      }
    }
    assertThat(projections).as("the projection vertices' parallelism").isNotEmpty();
    assertThat(projections).containsOnly(parallelism);
  }

  /** Every n-th record, {@link #RESENT} of them. */
  private static List<ProducedLog.Sent> sample(List<ProducedLog.Sent> records) {
    List<ProducedLog.Sent> picked = new ArrayList<>();
    int step = Math.max(1, records.size() / RESENT);
    for (int i = 0; i < records.size() && picked.size() < RESENT; i += step) {
      picked.add(records.get(i));
    }
    return picked;
  }
}
