package dev.tally.jobs.projection;

import dev.tally.common.events.Lane;
import dev.tally.common.flink.JobArguments;
import dev.tally.common.replay.Position;
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
 * @param start where each lane's source starts without a checkpoint: {@code committed} (the group's
 *     offsets, earliest where it has none) or a {@link Position} ({@code earliest}, {@code latest},
 *     {@code timestamp:…}, {@code group:…}, {@code topic:partition:offset,…})
 * @param stop {@code none} (run on) or an end {@link Position} (bounded: stop there, then finish
 *     once every view is written)
 * @param sourceId appended to the sources' uids: a new value makes a job restored from a savepoint
 *     read from {@code start} instead of the saved offsets (replay repair); empty by default
 * @param dedupHorizon how long an event id is remembered, in log time (Kafka append time)
 * @param dedupGrace how much longer than the horizon, in log time, ids stay in state (covers a
 *     broker clock stepping back)
 * @param maxEventLead how far after its record's append time an event's {@code occurred_at} may be;
 *     later ones are dead-lettered as {@code invalid}
 * @param bundleSize events the projection operator holds before folding them
 * @param bundleDelay … or how long it holds the first of them
 * @param bufferTimeout how long a network buffer may wait to fill before it is sent
 * @param checkpointIntervalBehind the checkpoint interval while a lane is behind the log (a
 *     catch-up, a rebuild); a shorter one than {@code checkpointInterval} is taken as that
 * @param checkpointDir null to use the cluster's {@code execution.checkpointing.dir}
 * @param jdbcUrl null to run without the PostgreSQL sink
 * @param parallelism 0 to use the cluster's default
 * @param maxRecordsPerSecond per lane, the most records its source reads a second over all its
 *     subtasks; lanes not named read as fast as they can
 */
public record ProjectionConfig(
    String bootstrapServers,
    String topicPrefix,
    java.util.Map<String, String> kafkaProperties,
    List<Lane> lanes,
    String groupId,
    String start,
    String stop,
    String sourceId,
    Duration dedupHorizon,
    Duration dedupGrace,
    Duration checkpointInterval,
    Duration checkpointIntervalBehind,
    String checkpointDir,
    Duration maxOutOfOrderness,
    Duration allowedLateness,
    Duration maxEventLead,
    int bundleSize,
    Duration bundleDelay,
    Duration bufferTimeout,
    ValkeyEndpoint valkey,
    int valkeyBatch,
    Duration valkeyMaxDelay,
    int valkeyRetries,
    String jdbcUrl,
    String jdbcUser,
    String jdbcPassword,
    int postgresBatch,
    Duration postgresInterval,
    int postgresRetries,
    boolean migrate,
    int generation,
    String writer,
    PointsRules rules,
    int parallelism,
    java.util.Map<Lane, Integer> maxRecordsPerSecond)
    implements Serializable {

  public static final String COMMITTED = dev.tally.common.flink.ProjectionContract.START_COMMITTED;
  public static final String NO_STOP = "none";
  public static final int MAX_BUNDLE = 1_000_000;

  public ProjectionConfig {
    lanes = List.copyOf(lanes);
    kafkaProperties = java.util.Map.copyOf(kafkaProperties);
    maxRecordsPerSecond = java.util.Map.copyOf(maxRecordsPerSecond);
    require(!bootstrapServers.isBlank(), "--bootstrap-servers is empty");
    require(!lanes.isEmpty(), "--lanes names no lane; accepted: p0, p1, p2");
    if (!COMMITTED.equals(start)) {
      position("--start", start, "committed, ");
    }
    if (!NO_STOP.equals(stop)) {
      require(
          !(position("--stop", stop, "none, ") instanceof Position.Earliest),
          "--stop earliest would read nothing; use latest, timestamp:…, group:… or topic:partition:offset,…");
    }
    require(
        sourceId.matches("[A-Za-z0-9_.-]*"),
        "--source-id '" + sourceId + "' may hold letters, digits, _ . - only");
    require(positive(dedupHorizon), "--dedup-horizon must be > 0");
    require(!dedupGrace.isNegative(), "--dedup-grace must be >= 0");
    require(positive(checkpointInterval), "--checkpoint-interval must be > 0");
    // Never shorter than the live interval (Flink refuses that; a rebuild may lengthen the latter).
    if (checkpointIntervalBehind.compareTo(checkpointInterval) < 0) {
      checkpointIntervalBehind = checkpointInterval;
    }
    require(!maxOutOfOrderness.isNegative(), "--max-out-of-orderness must be >= 0");
    require(!allowedLateness.isNegative(), "--allowed-lateness must be >= 0");
    require(!maxEventLead.isNegative(), "--max-event-lead must be >= 0");
    require(
        bundleSize >= 1 && bundleSize <= MAX_BUNDLE,
        "--bundle-size must be between 1 and " + MAX_BUNDLE + ", got " + bundleSize);
    require(positive(bundleDelay), "--bundle-delay must be > 0");
    require(!bufferTimeout.isNegative(), "--buffer-timeout must be >= 0");
    require(valkeyBatch >= 1, "--valkey-batch must be >= 1");
    require(positive(valkeyMaxDelay), "--valkey-max-delay must be > 0");
    require(valkeyRetries >= 0, "--valkey-retries must be >= 0");
    require(postgresBatch >= 1, "--postgres-batch must be >= 1");
    require(positive(postgresInterval), "--postgres-interval must be > 0");
    require(postgresRetries >= 0, "--postgres-retries must be >= 0");
    require(generation >= 1, "--generation must be >= 1, got " + generation);
    require(
        writer.matches("[A-Za-z0-9_.-]+"),
        "--writer '" + writer + "' may hold letters, digits, _ . - only");
    require(
        parallelism >= 0 && parallelism <= JobArguments.MAX_PARALLELISM,
        "--parallelism must be between 0 (the cluster default) and "
            + JobArguments.MAX_PARALLELISM
            + " (the job's key groups), got "
            + parallelism);
    maxRecordsPerSecond.forEach(
        (lane, limit) ->
            require(
                limit >= 1,
                "--max-records-per-second "
                    + lane.name().toLowerCase()
                    + "="
                    + limit
                    + ": a limit must be >= 1 record/s"));
  }

  /** As a record prints itself, with the PostgreSQL password and Kafka secrets redacted (logs). */
  @Override
  public String toString() {
    java.util.Map<String, String> kafka = new java.util.TreeMap<>();
    kafkaProperties.forEach(
        (key, value) ->
            kafka.put(
                key,
                dev.tally.common.flink.JobArguments.isSecretKey(key)
                    ? dev.tally.common.flink.JobArguments.REDACTED
                    : value));
    return "ProjectionConfig[bootstrapServers="
        + bootstrapServers
        + ", topicPrefix="
        + topicPrefix
        + ", kafkaProperties="
        + kafka
        + ", lanes="
        + lanes
        + ", groupId="
        + groupId
        + ", start="
        + start
        + ", stop="
        + stop
        + ", generation="
        + generation
        + ", writer="
        + writer
        + ", valkey="
        + valkey
        + ", jdbcUrl="
        + jdbcUrl
        + ", jdbcUser="
        + jdbcUser
        + ", jdbcPassword="
        + (jdbcPassword == null ? null : dev.tally.common.flink.JobArguments.REDACTED)
        + ", parallelism="
        + parallelism
        + ", maxRecordsPerSecond="
        + maxRecordsPerSecond
        + "]";
  }

  /** What the views of one lane's pipeline are given. */
  public ViewContext viewContext(String lane) {
    return new ViewContext(rules, allowedLateness, writer, lane);
  }

  /** The start position; null for {@code committed}. */
  public Position startPosition() {
    return COMMITTED.equals(start) ? null : Position.parse(start);
  }

  /** The end position; null for a continuous run. */
  public Position stopPosition() {
    return NO_STOP.equals(stop) ? null : Position.parse(stop);
  }

  private static Position position(String option, String text, String alsoAccepted) {
    try {
      return Position.parse(text);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          option
              + " '"
              + text
              + "': "
              + e.getMessage()
              + " (also accepted: "
              + alsoAccepted.replaceAll(", $", "")
              + ")");
    }
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
