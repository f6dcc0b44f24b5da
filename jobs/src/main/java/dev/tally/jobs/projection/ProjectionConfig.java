package dev.tally.jobs.projection;

import dev.tally.common.events.Lane;
import dev.tally.common.flink.JobArguments;
import dev.tally.common.flink.ProjectionContract;
import dev.tally.common.flink.PublishedOptions;
import dev.tally.common.replay.Position;
import dev.tally.common.views.ValkeyEndpoint;
import dev.tally.jobs.views.PointsRules;
import dev.tally.jobs.views.ViewContext;
import java.io.Serializable;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Everything the projection job is told, parsed and validated once ({@link ProjectionOptions}),
 * then passed down and never re-read; grouped by what it configures.
 *
 * @param generation the view generation the job writes
 * @param writer the writer name of its partials (a replay's differs from the live job's)
 * @param parallelism 0 to use the cluster's default
 */
public record ProjectionConfig(
    Sources sources,
    State state,
    Timing timing,
    Stores stores,
    int generation,
    String writer,
    PointsRules rules,
    int parallelism)
    implements Serializable {

  public static final String COMMITTED = dev.tally.common.flink.ProjectionContract.START_COMMITTED;
  public static final String NO_STOP = "none";
  public static final int MAX_BUNDLE = 1_000_000;

  /**
   * What the lane sources read, and from where.
   *
   * @param kafkaProperties extra Kafka consumer properties for the lane sources (the properties
   *     file's, then the inline ones over them)
   * @param kafkaPropertiesFile the file they were read from, null for none (published, so tools can
   *     read the same)
   * @param start where each lane's source starts without a checkpoint: {@code committed} (the
   *     group's offsets, earliest where it has none) or a {@link Position} ({@code earliest},
   *     {@code latest}, {@code timestamp:…}, {@code group:…}, {@code topic:partition:offset,…})
   * @param stop {@code none} (run on) or an end {@link Position} (bounded: stop there, then finish
   *     once every view is written)
   * @param sourceId appended to the sources' uids: a new value makes a job restored from a
   *     savepoint read from {@code start} instead of the saved offsets (replay repair); empty by
   *     default
   * @param maxRecordsPerSecond per lane, the most records its source reads a second over all its
   *     subtasks; lanes not named read as fast as they can
   */
  public record Sources(
      String bootstrapServers,
      String topicPrefix,
      Map<String, String> kafkaProperties,
      String kafkaPropertiesFile,
      List<Lane> lanes,
      String groupId,
      String start,
      String stop,
      String sourceId,
      Map<Lane, Integer> maxRecordsPerSecond)
      implements Serializable {

    public Sources {
      lanes = List.copyOf(lanes);
      kafkaProperties = Map.copyOf(kafkaProperties);
      maxRecordsPerSecond = Map.copyOf(maxRecordsPerSecond);
      require(!bootstrapServers.isBlank(), "--bootstrap-servers is empty");
      require(!lanes.isEmpty(), "--lanes names no lane; accepted: p0, p1, p2");
      if (!COMMITTED.equals(start)) {
        position(ProjectionContract.START, start, "committed, ");
      }
      if (!NO_STOP.equals(stop)) {
        require(
            !(position(ProjectionContract.STOP, stop, "none, ") instanceof Position.Earliest),
            "--stop earliest would read nothing; use latest, timestamp:…, group:… or"
                + " topic:partition:offset,…");
      }
      require(
          sourceId.matches("[A-Za-z0-9_.-]*"),
          "--source-id '" + sourceId + "' may hold letters, digits, _ . - only");
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

    /** The start position; null for {@code committed}. */
    public Position startPosition() {
      return COMMITTED.equals(start) ? null : Position.parse(start);
    }

    /** The end position; null for a continuous run. */
    public Position stopPosition() {
      return NO_STOP.equals(stop) ? null : Position.parse(stop);
    }

    /** The lanes' topics, in lane order. */
    public List<String> topics() {
      return lanes.stream().map(lane -> lane.topic(topicPrefix)).distinct().toList();
    }

    @Override
    public String toString() {
      Map<String, String> kafka = new TreeMap<>();
      kafkaProperties.forEach(
          (key, value) ->
              kafka.put(key, JobArguments.isSecretKey(key) ? JobArguments.REDACTED : value));
      return "Sources[bootstrapServers="
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
          + ", sourceId="
          + sourceId
          + ", maxRecordsPerSecond="
          + maxRecordsPerSecond
          + "]";
    }
  }

  /**
   * The keyed state and its checkpoints.
   *
   * @param dedupHorizon how long an event id is remembered, in log time (Kafka append time)
   * @param dedupGrace how much longer than the horizon, in log time, ids stay in state (covers a
   *     broker clock stepping back)
   * @param checkpointIntervalBehind the checkpoint interval while a lane is behind the log (a
   *     catch-up, a rebuild); a shorter one than {@code checkpointInterval} is taken as that
   * @param checkpointDir null to use the cluster's {@code execution.checkpointing.dir}
   */
  public record State(
      Duration dedupHorizon,
      Duration dedupGrace,
      Duration checkpointInterval,
      Duration checkpointIntervalBehind,
      String checkpointDir)
      implements Serializable {

    public State {
      require(positive(dedupHorizon), "--dedup-horizon must be > 0");
      require(!dedupGrace.isNegative(), "--dedup-grace must be >= 0");
      require(positive(checkpointInterval), "--checkpoint-interval must be > 0");
      // Never shorter than the live interval (Flink refuses that; a rebuild may lengthen the
      // latter).
      if (checkpointIntervalBehind.compareTo(checkpointInterval) < 0) {
        checkpointIntervalBehind = checkpointInterval;
      }
    }
  }

  /**
   * Event time and how long records wait to be batched.
   *
   * @param maxEventLead how far after its record's append time an event's {@code occurred_at} may
   *     be; later ones are dead-lettered as {@code invalid}
   * @param bundleSize events the projection operator holds before folding them
   * @param bundleDelay … or how long it holds the first of them
   * @param bufferTimeout how long a network buffer may wait to fill before it is sent
   */
  public record Timing(
      Duration maxOutOfOrderness,
      Duration allowedLateness,
      Duration maxEventLead,
      int bundleSize,
      Duration bundleDelay,
      Duration bufferTimeout)
      implements Serializable {

    public Timing {
      require(!maxOutOfOrderness.isNegative(), "--max-out-of-orderness must be >= 0");
      require(!allowedLateness.isNegative(), "--allowed-lateness must be >= 0");
      require(!maxEventLead.isNegative(), "--max-event-lead must be >= 0");
      require(
          bundleSize >= 1 && bundleSize <= MAX_BUNDLE,
          "--bundle-size must be between 1 and " + MAX_BUNDLE + ", got " + bundleSize);
      require(positive(bundleDelay), "--bundle-delay must be > 0");
      require(!bufferTimeout.isNegative(), "--buffer-timeout must be >= 0");
    }
  }

  /**
   * Where the views are written: Valkey, and PostgreSQL's durable copy.
   *
   * @param jdbcUrl null to run without the PostgreSQL sink
   * @param migrate apply the schema migrations at start
   */
  public record Stores(
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
      boolean migrate)
      implements Serializable {

    public Stores {
      require(valkeyBatch >= 1, "--valkey-batch must be >= 1");
      require(positive(valkeyMaxDelay), "--valkey-max-delay must be > 0");
      require(valkeyRetries >= 0, "--valkey-retries must be >= 0");
      require(postgresBatch >= 1, "--postgres-batch must be >= 1");
      require(positive(postgresInterval), "--postgres-interval must be > 0");
      require(postgresRetries >= 0, "--postgres-retries must be >= 0");
    }

    @Override
    public String toString() {
      return "Stores[valkey="
          + valkey
          + ", jdbcUrl="
          + jdbcUrl
          + ", jdbcUser="
          + jdbcUser
          + ", jdbcPassword="
          + (jdbcPassword == null ? null : JobArguments.REDACTED)
          + "]";
    }
  }

  public ProjectionConfig {
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
  }

  /**
   * What the job publishes of itself ({@link PublishedOptions}): {@code resolvedParallelism} the
   * one it runs at on its cluster, {@code args} what it was given (to name what their published
   * form redacts).
   */
  public PublishedOptions published(int resolvedParallelism, JobArguments args) {
    return new PublishedOptions(
        sources.bootstrapServers(),
        sources.topicPrefix(),
        sources.lanes().stream().map(lane -> lane.name().toLowerCase(Locale.ROOT)).toList(),
        sources.groupId(),
        sources.start(),
        sources.stop(),
        sources.sourceId(),
        generation,
        writer,
        stores.valkey().url(),
        stores.valkey().cluster(),
        stores.jdbcUrl(),
        stores.jdbcUser(),
        sources.kafkaPropertiesFile(),
        sources.kafkaProperties().entrySet().stream()
            .filter(property -> !JobArguments.isSecretKey(property.getKey()))
            .collect(java.util.stream.Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue)),
        resolvedParallelism,
        state.checkpointInterval(),
        args.redacted().redactedKeys());
  }

  @Override
  public String toString() {
    return "ProjectionConfig["
        + sources
        + ", "
        + stores
        + ", generation="
        + generation
        + ", writer="
        + writer
        + ", parallelism="
        + parallelism
        + "]";
  }

  /** What the views of one lane's pipeline are given. */
  public ViewContext viewContext(String lane) {
    return new ViewContext(rules, timing.allowedLateness(), writer, lane);
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
