package dev.tally.jobs.projection;

import static org.assertj.core.api.Assertions.assertThat;

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
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.executiongraph.ArchivedExecutionGraph;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.InjectMiniCluster;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Promise 3: the job fails mid-stream, restarts from its last checkpoint and re-emits; the version
 * guard makes the re-emissions harmless, so a reader never sees a value go backwards and the views
 * end exact.
 */
@ExtendWith({KafkaExtension.class, ValkeyExtension.class, PostgresExtension.class})
class ProjectionFailoverIT {

  @RegisterExtension static final MiniClusterExtension FLINK = FlinkMiniCluster.extension();

  private static final long RECORDS = 150_000;
  private static final String HOT_USER = "user-0";

  @Test
  @Timeout(600)
  void injectedFailureRestartsFromTheCheckpointAndViewsStayExactAndNeverGoBack(
      KafkaBroker kafka,
      ValkeyServer valkey,
      PostgresServer postgres,
      @InjectMiniCluster MiniCluster miniCluster)
      throws Exception {
    ProjectionTestSetup setup =
        new ProjectionTestSetup("failover", kafka, valkey, postgres, Duration.ofMillis(300));
    ProducedLog log =
        new ProducedLog()
            .send(kafka.bootstrapServers(), setup.warmUp())
            .send(kafka.bootstrapServers(), setup.load(RECORDS, 0.05, 0.05, 0.01, 0.01));
    ExpectedViews expected = ExpectedViews.fold(log.records());

    ProjectionSinks real = ProjectionJob.productionSinks(setup.config);
    String failure = "failover-" + setup.generation;
    ProjectionSinks failing =
        new ProjectionSinks(
            new FailOnceSink<>(real.valkey(), failure, 20_000, 2),
            real.postgres(),
            real.deadLetters());
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    ProjectionJob.build(
        env,
        ProjectionTestSetup.sources(setup.config, OffsetsInitializer.latest()),
        failing,
        setup.config);

    HotKeyReader reader =
        new HotKeyReader(
            setup.valkey.connect(), ViewKeys.entry(setup.generation, UserScoreView.NAME, HOT_USER));
    Thread readerThread = new Thread(reader, "hot-key-reader");
    readerThread.start();
    JobClient job = env.executeAsync("failover");
    try {
      FlinkMiniCluster.awaitCompletion(job, Duration.ofMinutes(8));
    } finally {
      reader.stop.set(true);
      readerThread.join(10_000);
    }

    assertThat(FailOnceSink.failed(failure)).as("the failure was injected").isTrue();
    ArchivedExecutionGraph graph = miniCluster.getArchivedExecutionGraph(job.getJobID()).get();
    assertThat(graph.getCheckpointStatsSnapshot().getLatestRestoredCheckpoint())
        .as("restarted from a checkpoint")
        .isNotNull();
    assertThat(reader.backwards).as("the hot key never went backwards").isEmpty();
    assertThat(reader.distinctVersions)
        .as("the reader saw the key change while the job ran")
        .isGreaterThan(10);

    ServedViews.assertAllEqual(setup, expected);
    assertThat(ServedViews.deadLetters(kafka, setup.deadLetterTopic()).keySet())
        .isEqualTo(expected.deadLetters);
  }
}
