package dev.tally.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.stream.Stream;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ExternalizedCheckpointRetention;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.checkpoint.CheckpointStatsSnapshot;
import org.apache.flink.runtime.checkpoint.CompletedCheckpointStats;
import org.apache.flink.runtime.executiongraph.ArchivedExecutionGraph;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.test.junit5.InjectMiniCluster;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.util.Collector;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

class MiniClusterRocksDbIT {

  @RegisterExtension static final MiniClusterExtension FLINK = FlinkMiniCluster.extension();

  private static final Duration CHECKPOINT_INTERVAL = Duration.ofMillis(200);
  private static final Duration WAIT = Duration.ofSeconds(90);

  /** Counts values per key in keyed state, so the checkpoint has RocksDB state to write. */
  static final class CountPerKey extends KeyedProcessFunction<Long, Long, Long> {
    private transient ValueState<Long> count;

    @Override
    public void open(OpenContext context) {
      count = getRuntimeContext().getState(new ValueStateDescriptor<>("count", Types.LONG));
    }

    @Override
    public void processElement(Long value, Context context, Collector<Long> out) throws Exception {
      long next = (count.value() == null ? 0 : count.value()) + 1;
      count.update(next);
      out.collect(next);
    }
  }

  @Test
  @Timeout(120)
  void keyedJobCompletesARocksDbCheckpoint(@InjectMiniCluster MiniCluster miniCluster)
      throws Exception {
    Configuration jobConfig = new Configuration();
    // Keep the last checkpoint after the cancel below, so its files can be inspected.
    jobConfig.set(
        CheckpointingOptions.EXTERNALIZED_CHECKPOINT_RETENTION,
        ExternalizedCheckpointRetention.RETAIN_ON_CANCELLATION);
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(jobConfig);
    env.setParallelism(2);
    env.enableCheckpointing(CHECKPOINT_INTERVAL.toMillis());
    env.fromSequence(0, Long.MAX_VALUE)
        .name("numbers")
        .keyBy(n -> n % 64)
        .process(new CountPerKey())
        .uid("count-per-key")
        .name("count-per-key")
        .sinkTo(new DiscardingSink<>())
        .name("discard");

    JobClient job = env.executeAsync("rocksdb-checkpoint-smoke");
    try {
      awaitFirstCompletedCheckpoint(miniCluster, job);
    } finally {
      job.cancel().get();
    }
    ArchivedExecutionGraph graph = miniCluster.getArchivedExecutionGraph(job.getJobID()).get();
    CompletedCheckpointStats latest =
        graph.getCheckpointStatsSnapshot().getHistory().getLatestCompletedCheckpoint();

    assertThat(graph.getStateBackendName())
        .hasValueSatisfying(name -> assertThat(name).containsIgnoringCase("rocksdb"));
    assertThat(latest.getStateSize()).isPositive();
    Path checkpointDir = Path.of(URI.create(latest.getExternalPath()));
    assertThat(checkpointDir).startsWith(TestDirs.root());
    assertThat(checkpointDir.resolve("_metadata")).isRegularFile();
    try (Stream<Path> files = Files.list(checkpointDir.getParent().resolve("shared"))) {
      assertThat(files.filter(f -> !Files.isDirectory(f)).count())
          .as("incremental RocksDB files in shared/")
          .isPositive();
    }
  }

  private static void awaitFirstCompletedCheckpoint(MiniCluster miniCluster, JobClient job)
      throws Exception {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (System.nanoTime() < deadline) {
      CheckpointStatsSnapshot stats =
          miniCluster.getExecutionGraph(job.getJobID()).get().getCheckpointStatsSnapshot();
      if (stats != null && stats.getCounts().getNumberOfCompletedCheckpoints() > 0) {
        return;
      }
      Thread.sleep(100);
    }
    throw new AssertionError("no checkpoint completed within " + WAIT);
  }
}
