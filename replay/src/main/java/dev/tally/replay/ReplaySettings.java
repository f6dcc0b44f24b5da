package dev.tally.replay;

import java.nio.file.Path;
import java.time.Duration;

/**
 * Where things are and how long to wait. Null store fields come from the live job's published
 * arguments; given ones must name the same servers ({@link ReplayStores#requireJobsStores}).
 *
 * @param jar the projection job jar that repair, rescale, rebuild and rollback submit
 * @param savepointDir null for the cluster's {@code execution.checkpointing.savepoint-dir}
 * @param timeout the longest wait for a savepoint, running tasks or a job to catch up
 * @param progressInterval how often progress is reported while waiting
 */
public record ReplaySettings(
    String flinkUrl,
    String bootstrapServers,
    String valkey,
    String jdbcUrl,
    String jdbcUser,
    Path jar,
    String savepointDir,
    Duration timeout,
    Duration progressInterval) {}
