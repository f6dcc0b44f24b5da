package dev.tally.jobs.projection;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tally.testing.FlinkMiniCluster;
import dev.tally.testing.KafkaBroker;
import dev.tally.testing.KafkaExtension;
import dev.tally.testing.PostgresExtension;
import dev.tally.testing.PostgresServer;
import dev.tally.testing.ValkeyExtension;
import dev.tally.testing.ValkeyServer;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.InjectMiniCluster;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * While events stream in, Valkey restarts and PostgreSQL is unreachable for 10 s: the sinks wait
 * and retry (or the job restarts from its checkpoint), nothing is dropped, and once both are back
 * the views converge to the exact fold.
 */
@ExtendWith({KafkaExtension.class, ValkeyExtension.class, PostgresExtension.class})
class ProjectionOutageIT {

  @RegisterExtension static final MiniClusterExtension FLINK = FlinkMiniCluster.extension();

  private static final long RECORDS = 100_000;
  private static final double RATE = 8_000;
  private static final Duration CONVERGENCE = Duration.ofMinutes(3);

  @Test
  @Timeout(600)
  void viewsAreExactAfterAValkeyRestartAndATenSecondPostgresOutage(
      KafkaBroker kafka,
      ValkeyServer valkey,
      PostgresServer postgres,
      @InjectMiniCluster MiniCluster miniCluster)
      throws Exception {
    ProjectionTestSetup setup =
        new ProjectionTestSetup("outage", kafka, valkey, postgres, Duration.ofSeconds(1));
    ProducedLog log = new ProducedLog().send(kafka.bootstrapServers(), setup.warmUp());

    Configuration restarts = new Configuration();
    // Patient restarts: if PostgreSQL stays away longer than the JDBC retries, the job restarts
    // from its checkpoint until it is back.
    restarts.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
    restarts.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, 30);
    restarts.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, Duration.ofSeconds(1));
    StreamExecutionEnvironment env = ProjectionTestSetup.job(setup.config, null, restarts);
    JobClient job = env.executeAsync("outage");
    try {
      // The outages hit a job that has checkpoints to restart from. (Before its first checkpoint a
      // job restarts from its start position with no watermark yet: see docs/guarantees.md.)
      awaitCompletedCheckpoints(miniCluster, job, 3);
      CompletableFuture<Void> producing =
          CompletableFuture.runAsync(
              () ->
                  log.send(
                      kafka.bootstrapServers(), setup.load(RECORDS, 0.05, 0.05, 0.01, 0.01), RATE));
      Thread.sleep(3_000);
      valkey.restart(Duration.ofSeconds(2));
      Thread.sleep(2_000);
      postgres.outage(Duration.ofSeconds(10));
      producing.get(5, TimeUnit.MINUTES);

      ExpectedViews expected = ExpectedViews.fold(log.records());
      for (Map.Entry<String, Map<String, Map<String, Long>>> view : expected.byView().entrySet()) {
        ServedViews.awaitEqual(
            view.getKey() + " in Valkey",
            () -> ServedViews.valkey(setup.valkey, setup.generation, view.getKey()),
            view.getValue(),
            CONVERGENCE);
        ServedViews.awaitPostgres(setup, view.getKey(), view.getValue(), CONVERGENCE);
      }
      assertThat(ServedViews.deadLetters(kafka, setup.deadLetterTopic()).keySet())
          .isEqualTo(expected.deadLetters);
    } finally {
      job.cancel().get(1, TimeUnit.MINUTES);
    }
  }

  private static void awaitCompletedCheckpoints(MiniCluster miniCluster, JobClient job, long count)
      throws Exception {
    long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
    while (System.nanoTime() < deadline) {
      var stats = miniCluster.getExecutionGraph(job.getJobID()).get().getCheckpointStatsSnapshot();
      if (stats != null && stats.getCounts().getNumberOfCompletedCheckpoints() >= count) {
        return;
      }
      Thread.sleep(100);
    }
    throw new AssertionError("fewer than " + count + " checkpoints completed within 2 minutes");
  }
}
