package dev.tally.jobs.projection;

import dev.tally.common.events.Lane;
import dev.tally.common.flink.ProjectionContract;
import dev.tally.common.views.ValkeyEndpoint;
import dev.tally.jobs.views.PointsRules;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.apache.flink.util.TimeUtils;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The projection job's command line. Secrets never come as arguments: passwords are read from the
 * environment ({@code TALLY_VALKEY_PASSWORD}, {@code TALLY_PG_PASSWORD}) or from files.
 */
@Command(
    name = "projection-job",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
      "Tally's live projection: reads the lane topics, dead-letters what does not decode, drops"
          + " duplicate event ids, folds events into the registered views and writes them to Valkey"
          + " (versioned Lua) and PostgreSQL (version-guarded upserts).",
      "Durations take a unit: 500ms, 60s, 5min, 7d."
    })
public final class ProjectionOptions {

  static final String VALKEY_PASSWORD_ENV = dev.tally.common.Environment.VALKEY_PASSWORD;
  static final String PG_PASSWORD_ENV = dev.tally.common.Environment.PG_PASSWORD;

  @Option(
      names = ProjectionContract.BOOTSTRAP_SERVERS,
      required = true,
      description = "Kafka bootstrap servers, host:port[,…].")
  String bootstrapServers;

  @Option(
      names = ProjectionContract.TOPIC_PREFIX,
      defaultValue = ProjectionContract.TOPIC_PREFIX_DEFAULT,
      description = "Prefix of the lane and dead-letter topic names (default: none).")
  String topicPrefix;

  @Option(
      names = "--kafka-property",
      description =
          "Extra Kafka client property for the lane sources and the dead-letter producer, key=value;"
              + " repeatable (e.g. max.partition.fetch.bytes=65536). Secrets (sasl.jaas.config,"
              + " ssl.*.password, …) given here are redacted from the job's published"
              + " configuration, so tally replay cannot restart the job: use"
              + " --kafka-properties-file for them.")
  java.util.Map<String, String> kafkaProperties = new java.util.LinkedHashMap<>();

  @Option(
      names = ProjectionContract.KAFKA_PROPERTIES_FILE,
      paramLabel = "FILE",
      description =
          "A Java properties file of Kafka client properties, read where the job's main runs (the"
              + " JobManager for a REST submission): the place for secrets such as"
              + " sasl.jaas.config. --kafka-property entries override it.")
  Path kafkaPropertiesFile;

  @Option(
      names = ProjectionContract.LANES,
      defaultValue = ProjectionContract.LANES_DEFAULT,
      split = ",",
      description =
          "Lanes to read (default: ${DEFAULT-VALUE}). One job per lane isolates lanes completely.")
  List<String> lanes;

  @Option(
      names = ProjectionContract.GROUP_ID,
      defaultValue = ProjectionContract.GROUP_ID_DEFAULT,
      description =
          "Kafka consumer group; offsets are committed on checkpoints (default: ${DEFAULT-VALUE}).")
  String groupId;

  @Option(
      names = ProjectionContract.START,
      defaultValue = "committed",
      description =
          "Where to start without a checkpoint (or with a new --source-id): committed (the group's offsets, earliest where none), earliest, latest, timestamp:<ISO-8601 or epoch ms>, group:<group id>, topic:partition:offset,… (default: ${DEFAULT-VALUE}).")
  String start;

  @Option(
      names = ProjectionContract.STOP,
      defaultValue = "none",
      description =
          "none: run on; else an end position (latest, timestamp:…, group:…, topic:partition:offset,…): stop there and finish once every view is written (bounded replays, benchmarks) (default: ${DEFAULT-VALUE}).")
  String stop;

  @Option(
      names = ProjectionContract.SOURCE_ID,
      defaultValue = ProjectionContract.SOURCE_ID_DEFAULT,
      description =
          "Appended to the Kafka sources' uids. A new value makes a job restored from a savepoint read from --start instead of the saved offsets (tally replay repair sets it) (default: none).")
  String sourceId;

  @Option(
      names = "--dedup-horizon",
      defaultValue = "7d",
      description =
          "How long an event id is remembered, measured in the log's append time: a repeat later"
              + " than this counts again (default: ${DEFAULT-VALUE}).")
  String dedupHorizon;

  @Option(
      names = "--dedup-grace",
      defaultValue = "1min",
      description =
          "How much longer than the horizon, in log time, an id stays in state: its partition's"
              + " newest append time must pass its first sighting by horizon + grace before it is"
              + " dropped (covers a broker clock stepping back); ids are never dropped by processing"
              + " time (default: ${DEFAULT-VALUE}).")
  String dedupGrace;

  @Option(
      names = "--bundle-size",
      defaultValue = "32768",
      description =
          "Events the projection folds together: one state access and one update per user per"
              + " bundle (default: ${DEFAULT-VALUE}).")
  int bundleSize;

  @Option(
      names = "--bundle-delay",
      defaultValue = "5ms",
      description =
          "… or how long the first of them waits; up to 250 ms while the events are more than ten"
              + " seconds behind the log (catching up) (default: ${DEFAULT-VALUE}).")
  String bundleDelay;

  @Option(
      names = "--buffer-timeout",
      defaultValue = "5ms",
      description =
          "How long a network buffer between operators may wait to fill before it is sent (Flink's"
              + " execution.buffer-timeout; 0 sends every record at once) (default:"
              + " ${DEFAULT-VALUE}).")
  String bufferTimeout;

  @Option(
      names = ProjectionContract.CHECKPOINT_INTERVAL,
      defaultValue = "60s",
      description = "Checkpoint interval; views do not wait for it (default: ${DEFAULT-VALUE}).")
  String checkpointInterval;

  @Option(
      names = "--checkpoint-interval-behind",
      description =
          "Checkpoint interval while a lane reads records appended more than 10 s ago (a catch-up,"
              + " a rebuild): every checkpoint empties the bundles and waits for the Valkey"
              + " writers; a restart re-reads up to one interval. Never shorter than"
              + " --checkpoint-interval (default: 3 × --checkpoint-interval, at least 60s).")
  String checkpointIntervalBehind;

  @Option(
      names = "--checkpoint-dir",
      description =
          "Checkpoint storage URI, e.g. file:///data/checkpoints (default: the cluster's).")
  String checkpointDir;

  @Option(
      names = "--max-out-of-orderness",
      defaultValue = "10s",
      description =
          "Bound of occurred_at disorder within a partition: a partition's clock, which lateness"
              + " is judged by, is its greatest occurred_at so far less this (default:"
              + " ${DEFAULT-VALUE}).")
  String maxOutOfOrderness;

  @Option(
      names = "--allowed-lateness",
      defaultValue = "60s",
      description =
          "How long after its end an event-time minute still takes events, by the clock of the"
              + " partition an event is read from (default: ${DEFAULT-VALUE}).")
  String allowedLateness;

  @Option(
      names = "--max-event-lead",
      defaultValue = "1min",
      description =
          "How far after its record's append time an event's occurred_at may be; an event stamped"
              + " later (a producer clock far ahead) is dead-lettered as invalid instead of moving"
              + " its partition's event-time clock. Keep it below --allowed-lateness +"
              + " --max-out-of-orderness, so no event can make an on-time one late"
              + " (default: ${DEFAULT-VALUE}).")
  String maxEventLead;

  @Option(
      names = ProjectionContract.VALKEY,
      required = true,
      description =
          "Valkey node, redis://[user[:password]@]host:port (rediss:// for TLS); several nodes"
              + " (comma-separated) mean a cluster. Prefer --valkey-password-file for the password:"
              + " one in the URL is redacted from the published configuration.")
  String valkey;

  @Option(
      names = ProjectionContract.VALKEY_CLUSTER,
      description = "Treat a single --valkey node as a cluster seed.")
  boolean valkeyCluster;

  @Option(
      names = "--valkey-password-file",
      description =
          "File holding the Valkey password (else $" + VALKEY_PASSWORD_ENV + ", else none).")
  Path valkeyPasswordFile;

  @Option(
      names = "--valkey-ca-file",
      description =
          "PEM file of the CA(s) a TLS Valkey's certificate must chain to (with rediss:// or"
              + " valkeys://; else $"
              + ValkeyEndpoint.CA_FILE_ENV
              + ", else the JVM's trust store). The server's certificate must name the host.")
  String valkeyCaFile;

  @Option(
      names = "--valkey-batch",
      defaultValue = "2000",
      description = "Flush to Valkey at this many buffered updates (default: ${DEFAULT-VALUE}).")
  int valkeyBatch;

  @Option(
      names = "--valkey-max-delay",
      defaultValue = "5ms",
      description = "… or this long after the first buffered update (default: ${DEFAULT-VALUE}).")
  String valkeyMaxDelay;

  @Option(
      names = "--valkey-retries",
      defaultValue = "10",
      description =
          "Retries of a batch while Valkey is unreachable, loading or failing over (100 ms, 200 ms,"
              + " … up to 5 s apart) before the job restarts from its checkpoint; other errors fail"
              + " at once (default: ${DEFAULT-VALUE}).")
  int valkeyRetries;

  @Option(
      names = ProjectionContract.JDBC_URL,
      description =
          "PostgreSQL JDBC URL, e.g. jdbc:postgresql://host:5432/tally (default: no PostgreSQL sink).")
  String jdbcUrl;

  @Option(
      names = ProjectionContract.JDBC_USER,
      defaultValue = ProjectionContract.JDBC_USER_DEFAULT,
      description = "PostgreSQL user (default: ${DEFAULT-VALUE}).")
  String jdbcUser;

  @Option(
      names = "--jdbc-password-file",
      description =
          "File holding the PostgreSQL password (else $" + PG_PASSWORD_ENV + ", else none).")
  Path jdbcPasswordFile;

  @Option(
      names = "--postgres-batch",
      defaultValue = "5000",
      description =
          "Write to PostgreSQL at this many changed entries, one statement (default:"
              + " ${DEFAULT-VALUE}).")
  int postgresBatch;

  @Option(
      names = "--postgres-interval",
      defaultValue = "1s",
      description =
          "… or this long after the first changed entry: each entry is upserted about once per"
              + " interval (default: ${DEFAULT-VALUE}).")
  String postgresInterval;

  @Option(
      names = "--postgres-retries",
      defaultValue = "5",
      description =
          "Retries of a batch while PostgreSQL is unreachable or shutting down (1 s, 2 s, … up to"
              + " 30 s apart) before the job restarts from its checkpoint; other errors fail at once"
              + " (default: ${DEFAULT-VALUE}).")
  int postgresRetries;

  @Option(
      names = "--no-migrate",
      negatable = false,
      description = "Do not apply the PostgreSQL migrations at start.")
  boolean noMigrate;

  @Option(
      names = ProjectionContract.GENERATION,
      defaultValue = ProjectionContract.GENERATION_DEFAULT,
      description =
          "View generation to write (keys and rows carry it) (default: ${DEFAULT-VALUE}).")
  int generation;

  @Option(
      names = ProjectionContract.WRITER,
      defaultValue = ProjectionContract.WRITER_DEFAULT,
      description =
          "Name of this job's partials; the lane is appended (default: ${DEFAULT-VALUE}).")
  String writer;

  @Option(
      names = "--points",
      defaultValue = PointsRules.DEFAULT,
      description = "Points rule table, TYPE=points,… (default: ${DEFAULT-VALUE}).")
  String points;

  @Option(
      names = ProjectionContract.PARALLELISM,
      defaultValue = "0",
      description = "Job parallelism; 0 = the cluster default (default: ${DEFAULT-VALUE}).")
  int parallelism;

  @Option(
      names = "--max-records-per-second",
      split = ",",
      paramLabel = "LANE=N",
      description =
          "At most N records a second read from a lane's topic (all subtasks together), e.g."
              + " p2=5000: a backlogged lane then falls behind instead of taking the cores from the"
              + " others (default: no limit).")
  java.util.Map<String, Integer> maxRecordsPerSecond = new java.util.LinkedHashMap<>();

  /**
   * A JDBC URL is published with the job's arguments and options: a password in it (e.g. {@code
   * ?password=…}) would be shown by the Flink UI and REST API.
   */
  private static void requireNoSecretIn(String jdbcUrl) {
    int query = jdbcUrl == null ? -1 : jdbcUrl.indexOf('?');
    if (query < 0) {
      return;
    }
    for (String parameter : jdbcUrl.substring(query + 1).split("&")) {
      String name =
          parameter.contains("=") ? parameter.substring(0, parameter.indexOf('=')) : parameter;
      if (dev.tally.common.flink.JobArguments.isSecretKey(name)) {
        throw new IllegalArgumentException(
            ProjectionContract.JDBC_URL
                + " must not carry a secret ("
                + name
                + "): the job publishes its URL; give the password by --jdbc-password-file or $"
                + PG_PASSWORD_ENV);
      }
    }
  }

  /**
   * Parses and validates the arguments. Empty when only help or the version was asked for (and
   * printed).
   *
   * @throws IllegalArgumentException saying what is wrong and what is accepted
   */
  public static Optional<ProjectionConfig> parse(String[] args, PrintWriter out) {
    ProjectionOptions options = new ProjectionOptions();
    CommandLine commandLine = new CommandLine(options);
    try {
      commandLine.parseArgs(args);
    } catch (CommandLine.ParameterException e) {
      StringWriter usage = new StringWriter();
      commandLine.usage(new PrintWriter(usage));
      throw new IllegalArgumentException(e.getMessage() + "\n" + usage, e);
    }
    if (commandLine.isUsageHelpRequested()) {
      commandLine.usage(out);
      out.flush();
      return Optional.empty();
    }
    if (commandLine.isVersionHelpRequested()) {
      out.println("tally projection-job");
      out.flush();
      return Optional.empty();
    }
    return Optional.of(options.toConfig());
  }

  ProjectionConfig toConfig() {
    requireNoSecretIn(jdbcUrl);
    List<Lane> laneList = new ArrayList<>();
    for (String lane : lanes) {
      Lane parsed = Lane.parse(lane);
      if (!laneList.contains(parsed)) {
        laneList.add(parsed);
      }
    }
    Duration interval = duration(ProjectionContract.CHECKPOINT_INTERVAL, checkpointInterval);
    return new ProjectionConfig(
        new ProjectionConfig.Sources(
            bootstrapServers,
            topicPrefix,
            kafkaProperties(),
            kafkaPropertiesFile == null ? null : kafkaPropertiesFile.toString(),
            laneList,
            groupId,
            start,
            stop,
            sourceId,
            laneLimits()),
        new ProjectionConfig.State(
            duration("--dedup-horizon", dedupHorizon),
            duration("--dedup-grace", dedupGrace),
            interval,
            checkpointIntervalBehind == null
                ? defaultIntervalBehind(interval)
                : duration("--checkpoint-interval-behind", checkpointIntervalBehind),
            checkpointDir),
        new ProjectionConfig.Timing(
            duration("--max-out-of-orderness", maxOutOfOrderness),
            duration("--allowed-lateness", allowedLateness),
            duration("--max-event-lead", maxEventLead),
            bundleSize,
            duration("--bundle-delay", bundleDelay),
            duration("--buffer-timeout", bufferTimeout)),
        new ProjectionConfig.Stores(
            ValkeyEndpoint.parse(
                    valkey, valkeyCluster, secret(valkeyPasswordFile, VALKEY_PASSWORD_ENV))
                .withCaFile(
                    valkeyCaFile != null
                        ? valkeyCaFile
                        : System.getenv(ValkeyEndpoint.CA_FILE_ENV)),
            valkeyBatch,
            duration("--valkey-max-delay", valkeyMaxDelay),
            valkeyRetries,
            jdbcUrl,
            jdbcUser,
            jdbcUrl == null ? null : secret(jdbcPasswordFile, PG_PASSWORD_ENV),
            postgresBatch,
            duration("--postgres-interval", postgresInterval),
            postgresRetries,
            !noMigrate),
        generation,
        writer,
        PointsRules.parse(points),
        parallelism);
  }

  /**
   * Three live intervals, at least a minute: a catch-up's barriers are few, a restart's re-read
   * short.
   */
  static Duration defaultIntervalBehind(Duration checkpointInterval) {
    Duration three = checkpointInterval.multipliedBy(3);
    return three.compareTo(Duration.ofMinutes(1)) >= 0 ? three : Duration.ofMinutes(1);
  }

  private java.util.Map<Lane, Integer> laneLimits() {
    java.util.Map<Lane, Integer> limits = new java.util.EnumMap<>(Lane.class);
    maxRecordsPerSecond.forEach((lane, limit) -> limits.put(Lane.parse(lane), limit));
    return limits;
  }

  private static Duration duration(String option, String text) {
    try {
      return TimeUtils.parseDuration(text);
    } catch (IllegalArgumentException | NullPointerException e) {
      throw new IllegalArgumentException(
          option + " '" + text + "' is not a duration; use e.g. 500ms, 60s, 5min, 7d");
    }
  }

  /** The properties file's entries, then the inline ones over them. */
  private java.util.Map<String, String> kafkaProperties() {
    java.util.Map<String, String> merged = new java.util.LinkedHashMap<>();
    if (kafkaPropertiesFile != null) {
      java.util.Properties file = new java.util.Properties();
      try (var in = Files.newBufferedReader(kafkaPropertiesFile, StandardCharsets.UTF_8)) {
        file.load(in);
      } catch (IOException e) {
        throw new IllegalArgumentException(
            "cannot read the Kafka properties file " + kafkaPropertiesFile + ": " + e.getMessage());
      }
      file.stringPropertyNames().stream().sorted().forEach(k -> merged.put(k, file.getProperty(k)));
    }
    merged.putAll(kafkaProperties);
    return merged;
  }

  private static String secret(Path file, String env) {
    if (file != null) {
      try {
        return Files.readString(file, StandardCharsets.UTF_8).trim();
      } catch (IOException e) {
        throw new IllegalArgumentException(
            "cannot read the password file " + file + ": " + e.getMessage());
      }
    }
    return System.getenv(env);
  }
}
