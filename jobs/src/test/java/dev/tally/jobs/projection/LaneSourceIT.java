package dev.tally.jobs.projection;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tally.common.events.Lane;
import dev.tally.jobs.decode.SourceRecord;
import dev.tally.testing.FlinkMiniCluster;
import dev.tally.testing.KafkaBroker;
import dev.tally.testing.KafkaExtension;
import dev.tally.testing.PostgresExtension;
import dev.tally.testing.PostgresServer;
import dev.tally.testing.ValkeyExtension;
import dev.tally.testing.ValkeyServer;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.runtime.checkpoint.CheckpointStatsCounts;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.testutils.InMemoryReporter;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.InjectMiniCluster;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * What a lane's source ({@link LaneSource}) does for checkpoints: a bounded run (a rebuild, {@code
 * --stop}) checkpoints until its end, even while some of a lane's source subtasks have nothing left
 * to read and others are still reading (the admission's union state would otherwise have Flink
 * decline every checkpoint in between); and a lane reading records appended long ago checkpoints at
 * the interval for being behind.
 */
@ExtendWith({KafkaExtension.class, ValkeyExtension.class, PostgresExtension.class})
class LaneSourceIT {

  private static final InMemoryReporter METRICS = InMemoryReporter.createWithRetainedMetrics();

  @RegisterExtension
  static final MiniClusterExtension FLINK = FlinkMiniCluster.extension(METRICS::addToConfiguration);

  /** Per lane, over its two subtasks: the one with all the records reads half of it. */
  private static final int RECORDS_PER_SECOND = 2_000;

  @Test
  @Timeout(300)
  void checkpointsCompleteWhileOneSourceSubtaskIsDoneAndTheOtherReads(
      KafkaBroker kafka,
      ValkeyServer valkey,
      PostgresServer postgres,
      @InjectMiniCluster MiniCluster miniCluster)
      throws Exception {
    ProjectionTestSetup setup =
        new ProjectionTestSetup("bounded-end", kafka, valkey, postgres, Duration.ofMillis(200));
    // Every record in partition 0 of its lane topic: of the two subtasks reading a lane, the one
    // given only empty partitions is done at once, the other reads for seconds.
    ProducedLog log =
        new ProducedLog().sendToPartition(kafka.bootstrapServers(), setup.warmUp(), 0);

    CheckpointStatsCounts checkpoints = runBounded(setup, miniCluster);

    // Reading lasts seconds (the rate limit); without the joint end, only the checkpoints before
    // the idle subtasks were done could complete (1 of 65 here, before the fix). What still fails
    // are the checkpoints triggered in the moment between two subtasks of a vertex finishing.
    assertThat(checkpoints.getNumberOfCompletedCheckpoints())
        .as(
            "checkpoints completed while the busy subtasks read (%d failed)",
            checkpoints.getNumberOfFailedCheckpoints())
        .isGreaterThanOrEqualTo(8)
        .isGreaterThan(checkpoints.getNumberOfFailedCheckpoints());
    ServedViews.assertAllEqual(setup, ExpectedViews.fold(log.records()));
  }

  @Test
  @Timeout(300)
  void aLaneBehindTheLogCheckpointsAtTheIntervalForBeingBehind(
      KafkaBroker kafka,
      ValkeyServer valkey,
      PostgresServer postgres,
      @InjectMiniCluster MiniCluster miniCluster)
      throws Exception {
    ProjectionTestSetup setup =
        new ProjectionTestSetup(
            "behind", kafka, valkey, postgres, Duration.ofMillis(200), Duration.ofHours(1));
    ProducedLog log =
        new ProducedLog().sendToPartition(kafka.bootstrapServers(), setup.warmUp(), 0);
    // Read once every record is older than the threshold: each lane is behind from its first.
    Thread.sleep(LaneSource.BEHIND_MS + 1_000);

    CheckpointStatsCounts checkpoints = runBounded(setup, miniCluster);

    // The same ~10 s read as above, where every 200 ms gave dozens: now none while the lanes are
    // behind, only those before the first records and after the last (the final one).
    assertThat(checkpoints.getNumberOfCompletedCheckpoints())
        .as("checkpoints completed in a read behind the log")
        .isGreaterThanOrEqualTo(1)
        .isLessThanOrEqualTo(4);
    ServedViews.assertAllEqual(setup, ExpectedViews.fold(log.records()));
  }

  @Test
  @Timeout(300)
  void aLaneThatHasReadToTheEndOfTheLogIsNoLongerBehind(
      KafkaBroker kafka,
      ValkeyServer valkey,
      PostgresServer postgres,
      @InjectMiniCluster MiniCluster miniCluster)
      throws Exception {
    ProjectionTestSetup setup =
        new ProjectionTestSetup(
            "caught-up", kafka, valkey, postgres, Duration.ofMillis(200), Duration.ofHours(1));
    ProducedLog log = new ProducedLog().send(kafka.bootstrapServers(), setup.warmUp());
    Thread.sleep(LaneSource.BEHIND_MS + 1_000);

    StreamExecutionEnvironment env = ProjectionTestSetup.job(setup.config, null);
    JobClient job = env.executeAsync(setup.prefix);
    try {
      // While it reads, each lane source says how far behind the log it is: over 10 s here.
      ExpectedViews expected = ExpectedViews.fold(log.records());
      long mostBehind = 0;
      long readUntil = System.nanoTime() + Duration.ofMinutes(2).toNanos();
      while (!ServedViews.valkeyEquals(setup, expected) && System.nanoTime() < readUntil) {
        mostBehind = Math.max(mostBehind, readBehindMs(job).stream().max(Long::compare).orElse(0L));
        Thread.sleep(50);
      }
      // Every record read (behind the log all along: old records, and no new ones come)...
      ServedViews.awaitValkey(setup, expected, Duration.ofSeconds(10));
      assertThat(mostBehind)
          .as("the most a lane source read behind the log, ms")
          .isGreaterThan(LaneSource.BEHIND_MS);
      long caughtUp = completedCheckpoints(miniCluster, job);
      // ...then nothing left to read: no longer behind, checkpoints every 200 ms again.
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      long completed = caughtUp;
      while (completed < caughtUp + 5 && System.nanoTime() < deadline) {
        Thread.sleep(200);
        completed = completedCheckpoints(miniCluster, job);
      }
      assertThat(completed)
          .as("checkpoints completed within 60 s of reading the log to its end")
          .isGreaterThanOrEqualTo(caughtUp + 5);
      assertThat(readBehindMs(job))
          .as("read behind the log, per lane subtask")
          .hasSize(6)
          .containsOnly(0L);
    } finally {
      job.cancel().get();
    }
  }

  /** Every lane source subtask's {@code readBehindMs} gauge. */
  private static List<Long> readBehindMs(JobClient job) {
    return METRICS.findMetrics(job.getJobID(), "readBehindMs").values().stream()
        .map(gauge -> (Long) ((Gauge<?>) gauge).getValue())
        .toList();
  }

  private static long completedCheckpoints(MiniCluster miniCluster, JobClient job)
      throws Exception {
    return miniCluster
        .getExecutionGraph(job.getJobID())
        .get()
        .getCheckpointStatsSnapshot()
        .getCounts()
        .getNumberOfCompletedCheckpoints();
  }

  /** The projection over everything in the topics now, each lane limited, to its end. */
  private static CheckpointStatsCounts runBounded(
      ProjectionTestSetup setup, MiniCluster miniCluster) throws Exception {
    Map<Lane, Source<SourceRecord, ?, ?>> sources = new LinkedHashMap<>();
    ProjectionTestSetup.sources(setup.config, OffsetsInitializer.latest())
        .forEach(
            (lane, source) ->
                sources.put(lane, RateLimitedSource.limit(source, RECORDS_PER_SECOND)));
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    ProjectionJob.build(env, sources, ProjectionJob.productionSinks(setup.config), setup.config);
    JobClient job = env.executeAsync(setup.prefix);
    FlinkMiniCluster.awaitCompletion(job, Duration.ofMinutes(4));
    return miniCluster
        .getArchivedExecutionGraph(job.getJobID())
        .get()
        .getCheckpointStatsSnapshot()
        .getCounts();
  }
}
