package dev.tally.jobs.projection;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tally.common.generator.GeneratorOptions;
import dev.tally.testing.FlinkMiniCluster;
import dev.tally.testing.KafkaBroker;
import dev.tally.testing.KafkaExtension;
import dev.tally.testing.PostgresExtension;
import dev.tally.testing.PostgresServer;
import dev.tally.testing.TestDirs;
import dev.tally.testing.ValkeyExtension;
import dev.tally.testing.ValkeyServer;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ExternalizedCheckpointRetention;
import org.apache.flink.core.execution.JobClient;
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
 * A checkpoint does not wait for PostgreSQL, and loses nothing for it: with {@code view_partial}
 * locked by another transaction, so that no PostgreSQL write of the job can commit, the job still
 * catches up in Valkey and completes a checkpoint; the job is then cancelled, its blocked
 * statements are terminated (PostgreSQL holds none of its rows), the lock is released and the job
 * restarts from that checkpoint with no new input — and PostgreSQL comes to equal the fold, from
 * what the checkpoint carried as the PostgreSQL writers' state.
 */
@ExtendWith({KafkaExtension.class, ValkeyExtension.class, PostgresExtension.class})
class PostgresWriterStateIT {

  @RegisterExtension static final MiniClusterExtension FLINK = FlinkMiniCluster.extension();

  /** Few enough that the PostgreSQL writers' buffers never fill (that would hold the task up). */
  private static final long RECORDS = 4_000;

  @Test
  @Timeout(300)
  void aCheckpointCarriesWhatPostgresHasNotCommitted(
      KafkaBroker kafka,
      ValkeyServer valkey,
      PostgresServer postgres,
      @InjectMiniCluster MiniCluster miniCluster)
      throws Exception {
    // Checkpoints only when the test triggers them.
    ProjectionTestSetup setup =
        new ProjectionTestSetup("writer-state", kafka, valkey, postgres, Duration.ofHours(1));
    ProducedLog log =
        new ProducedLog()
            .send(
                kafka.bootstrapServers(),
                GeneratorOptions.defaults()
                    .withSeed(7)
                    .withRecords(RECORDS)
                    .withTopicPrefix(setup.prefix)
                    .withFractions(0, 0, 0, 0));
    ExpectedViews expected = ExpectedViews.fold(log.records());
    Configuration flink = new Configuration();
    flink.set(
        CheckpointingOptions.CHECKPOINTS_DIRECTORY,
        TestDirs.newDirectory("writer-state-checkpoints").toUri().toString());
    flink.set(
        CheckpointingOptions.EXTERNALIZED_CHECKPOINT_RETENTION,
        ExternalizedCheckpointRetention.RETAIN_ON_CANCELLATION);

    String checkpoint;
    try (Connection lock = setup.schema.connect()) {
      lock.setAutoCommit(false);
      try (Statement statement = lock.createStatement()) {
        statement.execute("LOCK TABLE view_partial IN ACCESS EXCLUSIVE MODE");
      }
      JobClient job = start(setup, flink, null);
      try {
        ServedViews.awaitValkey(setup, expected, Duration.ofMinutes(2));
        // Every PostgreSQL write of the job is waiting for the lock, yet the checkpoint completes.
        checkpoint = miniCluster.triggerCheckpoint(job.getJobID()).get(1, TimeUnit.MINUTES);
      } finally {
        job.cancel().get(1, TimeUnit.MINUTES);
      }
      // The cancelled job's statements still wait for the lock: end them before it is released.
      try (Statement statement = lock.createStatement()) {
        statement.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                + " WHERE pid <> pg_backend_pid() AND wait_event_type = 'Lock'");
      }
      assertThat(rows(lock, setup.generation))
          .as("rows PostgreSQL holds of the cancelled job")
          .isZero();
      lock.rollback();
    }

    JobClient restored = start(setup, flink, checkpoint);
    try {
      for (Map.Entry<String, Map<String, Map<String, Long>>> view : expected.byView().entrySet()) {
        ServedViews.awaitPostgres(setup, view.getKey(), view.getValue(), Duration.ofMinutes(2));
      }
    } finally {
      restored.cancel().get(1, TimeUnit.MINUTES);
    }
  }

  private static JobClient start(ProjectionTestSetup setup, Configuration flink, String checkpoint)
      throws Exception {
    StreamExecutionEnvironment env = ProjectionTestSetup.job(setup.config, null, flink);
    StreamGraph graph = env.getStreamGraph();
    graph.setJobName(checkpoint == null ? "writer-state" : "writer-state-restored");
    if (checkpoint != null) {
      graph.setSavepointRestoreSettings(SavepointRestoreSettings.forPath(checkpoint, false));
    }
    return env.executeAsync(graph);
  }

  private static long rows(Connection connection, int generation) throws Exception {
    try (PreparedStatement query =
        connection.prepareStatement("SELECT count(*) FROM view_partial WHERE generation = ?")) {
      query.setInt(1, generation);
      try (ResultSet result = query.executeQuery()) {
        result.next();
        return result.getLong(1);
      }
    }
  }
}
