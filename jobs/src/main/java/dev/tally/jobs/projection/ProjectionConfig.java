package dev.tally.jobs.projection;

import dev.tally.common.events.Lane;
import dev.tally.common.views.ValkeyEndpoint;
import dev.tally.jobs.views.PointsRules;
import dev.tally.jobs.views.ViewContext;
import java.io.Serializable;
import java.time.Duration;
import java.util.List;

/**
 * Everything the projection job is told, parsed and validated once ({@link ProjectionOptions}),
 * then passed down and never re-read.
 *
 * @param kafkaProperties extra Kafka consumer properties for the lane sources
 * @param start where each lane's source starts: {@code committed} (the group's offsets, earliest
 *     where it has none), {@code earliest} or {@code latest}
 * @param stop {@code none} (run on) or {@code latest} (bounded: stop at the end offsets seen at
 *     start, then finish once every view is written)
 * @param checkpointDir null to use the cluster's {@code execution.checkpointing.dir}
 * @param jdbcUrl null to run without the PostgreSQL sink
 * @param parallelism 0 to use the cluster's default
 */
public record ProjectionConfig(
    String bootstrapServers,
    String topicPrefix,
    java.util.Map<String, String> kafkaProperties,
    List<Lane> lanes,
    String groupId,
    String start,
    String stop,
    Duration dedupHorizon,
    Duration checkpointInterval,
    String checkpointDir,
    Duration maxOutOfOrderness,
    Duration idleness,
    Duration allowedLateness,
    ValkeyEndpoint valkey,
    int valkeyBatch,
    Duration valkeyMaxDelay,
    String jdbcUrl,
    String jdbcUser,
    String jdbcPassword,
    Duration postgresInterval,
    int postgresRetries,
    boolean migrate,
    int generation,
    String writer,
    PointsRules rules,
    int parallelism)
    implements Serializable {

  public static final List<String> STARTS = List.of("committed", "earliest", "latest");
  public static final List<String> STOPS = List.of("none", "latest");

  public ProjectionConfig {
    lanes = List.copyOf(lanes);
    kafkaProperties = java.util.Map.copyOf(kafkaProperties);
    require(!bootstrapServers.isBlank(), "--bootstrap-servers is empty");
    require(!lanes.isEmpty(), "--lanes names no lane; accepted: p0, p1, p2");
    require(STARTS.contains(start), "--start '" + start + "' is not one of " + STARTS);
    require(STOPS.contains(stop), "--stop '" + stop + "' is not one of " + STOPS);
    require(positive(dedupHorizon), "--dedup-horizon must be > 0");
    require(positive(checkpointInterval), "--checkpoint-interval must be > 0");
    require(!maxOutOfOrderness.isNegative(), "--max-out-of-orderness must be >= 0");
    require(positive(idleness), "--idleness must be > 0");
    require(!allowedLateness.isNegative(), "--allowed-lateness must be >= 0");
    require(valkeyBatch >= 1, "--valkey-batch must be >= 1");
    require(positive(valkeyMaxDelay), "--valkey-max-delay must be > 0");
    require(positive(postgresInterval), "--postgres-interval must be > 0");
    require(postgresRetries >= 0, "--postgres-retries must be >= 0");
    require(generation >= 1, "--generation must be >= 1, got " + generation);
    require(
        writer.matches("[A-Za-z0-9_.-]+"),
        "--writer '" + writer + "' may hold letters, digits, _ . - only");
    require(parallelism >= 0, "--parallelism must be >= 0 (0 = cluster default)");
  }

  /** What the views of one lane's pipeline are given. */
  public ViewContext viewContext(String lane) {
    return new ViewContext(rules, allowedLateness, writer, lane);
  }

  private static boolean positive(Duration duration) {
    return !duration.isNegative() && !duration.isZero();
  }

  private static void require(boolean condition, String message) {
    if (!condition) {
      throw new IllegalArgumentException(message);
    }
  }
}
