package dev.tally.testing;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.state.rocksdb.RocksDBOptions;
import org.apache.flink.test.junit5.MiniClusterExtension;

/**
 * The Flink MiniCluster every job test runs on: RocksDB state with incremental checkpoints to a
 * directory under {@code target/}, and a restart strategy that gives up after {@link
 * #RESTART_ATTEMPTS} restarts, so a broken job fails the test instead of restarting forever.
 *
 * <pre>{@code
 * @RegisterExtension
 * static final MiniClusterExtension FLINK = FlinkMiniCluster.extension();
 * }</pre>
 */
public final class FlinkMiniCluster {

  public static final int TASK_MANAGERS = 1;
  public static final int SLOTS_PER_TASK_MANAGER = 4;
  public static final int RESTART_ATTEMPTS = 3;
  public static final Duration RESTART_DELAY = Duration.ofMillis(200);

  private FlinkMiniCluster() {}

  /** A MiniCluster extension with {@link #configuration()}, one per test class. */
  public static MiniClusterExtension extension() {
    return extension(TASK_MANAGERS, SLOTS_PER_TASK_MANAGER);
  }

  /**
   * The same with several TaskManagers, for tests whose state must move between them (a rescale).
   */
  public static MiniClusterExtension extension(int taskManagers, int slotsPerTaskManager) {
    return extension(taskManagers, slotsPerTaskManager, config -> config);
  }

  /** The default-sized one with settings added to {@link #configuration()}. */
  public static MiniClusterExtension extension(
      java.util.function.UnaryOperator<Configuration> settings) {
    return extension(TASK_MANAGERS, SLOTS_PER_TASK_MANAGER, settings);
  }

  /**
   * The same with settings added to {@link #configuration()}, e.g. a metric reporter's ({@code
   * InMemoryReporter#addToConfiguration}).
   */
  public static MiniClusterExtension extension(
      int taskManagers,
      int slotsPerTaskManager,
      java.util.function.UnaryOperator<Configuration> settings) {
    return new MiniClusterExtension(
        () ->
            new MiniClusterResourceConfiguration.Builder()
                .setConfiguration(settings.apply(configuration()))
                .setNumberTaskManagers(taskManagers)
                .setNumberSlotsPerTaskManager(slotsPerTaskManager)
                .build());
  }

  /** RocksDB, checkpoint storage and temp dirs under a fresh directory of {@code target/}. */
  public static Configuration configuration() {
    Path dir = TestDirs.newDirectory("flink");
    Configuration config = new Configuration();
    // Flink 2 has no setStateBackend(): the backend is chosen by configuration only.
    config.set(StateBackendOptions.STATE_BACKEND, "rocksdb");
    config.set(CheckpointingOptions.INCREMENTAL_CHECKPOINTS, true);
    config.set(
        CheckpointingOptions.CHECKPOINTS_DIRECTORY, dir.resolve("checkpoints").toUri().toString());
    config.set(
        CheckpointingOptions.SAVEPOINT_DIRECTORY, dir.resolve("savepoints").toUri().toString());
    config.set(RocksDBOptions.LOCAL_DIRECTORIES, dir.resolve("rocksdb").toString());
    config.set(CoreOptions.TMP_DIRS, dir.resolve("tmp").toString());
    config.set(TaskManagerOptions.MANAGED_MEMORY_SIZE, MemorySize.ofMebiBytes(256));
    config.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
    config.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, RESTART_ATTEMPTS);
    config.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, RESTART_DELAY);
    return config;
  }

  /**
   * Waits for a submitted job to end, bounded by {@code timeout}; on timeout the job is cancelled
   * and the test fails.
   */
  public static JobExecutionResult awaitCompletion(JobClient job, Duration timeout)
      throws Exception {
    try {
      return job.getJobExecutionResult().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      job.cancel().get(30, TimeUnit.SECONDS);
      throw new AssertionError("job " + job.getJobID() + " did not finish within " + timeout, e);
    } catch (ExecutionException e) {
      throw new AssertionError("job " + job.getJobID() + " failed", e.getCause());
    }
  }
}
