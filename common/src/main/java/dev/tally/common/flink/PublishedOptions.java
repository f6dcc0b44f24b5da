package dev.tally.common.flink;

import dev.tally.common.events.Lane;
import dev.tally.common.views.ValkeyEndpoint;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The projection job's options as it resolved them (defaults applied, the environment's values
 * read), published as named global job parameters ({@code tally.option.<option>}, Flink REST {@code
 * /jobs/<id>/config}) so its tools read what the job runs with instead of re-parsing its command
 * line with defaults of their own. Secrets are never among them: the Valkey URL is published
 * without its password, PostgreSQL's password not at all (the job refuses a JDBC URL that carries
 * one). The raw arguments ({@link JobArguments}) are published beside them, for restarting the job
 * with a few changed.
 *
 * @param kafkaProperties the Kafka properties the job's sources use (its properties file's, then
 *     the inline ones over them) without those that carry a secret
 * @param valkeyUrl {@code redis[s]://[user@]host:port[,…]}, no password
 * @param jdbcUrl null when the job writes no PostgreSQL copy; never with a password parameter
 * @param parallelism the job's default parallelism as resolved on the cluster
 * @param redacted what the job was given inline that its published arguments redact (Kafka property
 *     keys, {@code --valkey password}): a job with any cannot be restarted from them
 */
public record PublishedOptions(
    String bootstrapServers,
    String topicPrefix,
    List<String> lanes,
    String groupId,
    String start,
    String stop,
    String sourceId,
    int generation,
    String writer,
    String valkeyUrl,
    boolean valkeyCluster,
    String jdbcUrl,
    String jdbcUser,
    String kafkaPropertiesFile,
    Map<String, String> kafkaProperties,
    int parallelism,
    Duration checkpointInterval,
    List<String> redacted) {

  /** What every published option's parameter name starts with. */
  public static final String PREFIX = "tally.option.";

  private static final String KAFKA_PREFIX = PREFIX + "kafka-property.";
  private static final String REDACTED = PREFIX + "redacted";

  public PublishedOptions {
    lanes = List.copyOf(lanes);
    kafkaProperties = Map.copyOf(kafkaProperties);
    redacted = List.copyOf(redacted);
    kafkaProperties.keySet().stream()
        .filter(JobArguments::isSecretKey)
        .findFirst()
        .ifPresent(
            key -> {
              throw new IllegalArgumentException("Kafka property " + key + " is a secret");
            });
  }

  /** The lanes' topics, in lane order. */
  public List<String> topics() {
    List<String> topics = new ArrayList<>();
    for (String lane : lanes) {
      String topic = Lane.parse(lane).topic(topicPrefix);
      if (!topics.contains(topic)) {
        topics.add(topic);
      }
    }
    return topics;
  }

  /**
   * The parameter an option is published under: {@code --group-id} → {@code tally.option.group-id}.
   */
  public static String parameter(String option) {
    return PREFIX + option.replaceFirst("^--", "");
  }

  /** The Valkey endpoint the job writes, with {@code password} (the caller's, never published). */
  public ValkeyEndpoint valkey(String password) {
    return ValkeyEndpoint.parse(valkeyUrl, valkeyCluster, password);
  }

  /** As global job parameters. */
  public Map<String, String> toParameters() {
    Map<String, String> out = new LinkedHashMap<>();
    put(out, ProjectionContract.BOOTSTRAP_SERVERS, bootstrapServers);
    put(out, ProjectionContract.TOPIC_PREFIX, topicPrefix);
    put(out, ProjectionContract.LANES, String.join(",", lanes));
    put(out, ProjectionContract.GROUP_ID, groupId);
    put(out, ProjectionContract.START, start);
    put(out, ProjectionContract.STOP, stop);
    put(out, ProjectionContract.SOURCE_ID, sourceId);
    put(out, ProjectionContract.GENERATION, Integer.toString(generation));
    put(out, ProjectionContract.WRITER, writer);
    put(out, ProjectionContract.VALKEY, valkeyUrl);
    put(out, ProjectionContract.VALKEY_CLUSTER, Boolean.toString(valkeyCluster));
    put(out, ProjectionContract.JDBC_URL, jdbcUrl == null ? "" : jdbcUrl);
    put(out, ProjectionContract.JDBC_USER, jdbcUser);
    put(
        out,
        ProjectionContract.KAFKA_PROPERTIES_FILE,
        kafkaPropertiesFile == null ? "" : kafkaPropertiesFile);
    put(out, ProjectionContract.PARALLELISM, Integer.toString(parallelism));
    put(out, ProjectionContract.CHECKPOINT_INTERVAL, checkpointInterval.toMillis() + "ms");
    new java.util.TreeMap<>(kafkaProperties)
        .forEach((key, value) -> out.put(KAFKA_PREFIX + key, value));
    out.put(REDACTED, String.join(",", redacted));
    return out;
  }

  /**
   * The options job {@code jobId} published.
   *
   * @throws IllegalStateException naming the first option missing or unreadable
   */
  public static PublishedOptions fromParameters(Map<String, String> parameters, String jobId) {
    Reader read = new Reader(parameters, jobId);
    String jdbcUrl = read.text(ProjectionContract.JDBC_URL);
    String propertiesFile = read.text(ProjectionContract.KAFKA_PROPERTIES_FILE);
    return new PublishedOptions(
        read.text(ProjectionContract.BOOTSTRAP_SERVERS),
        read.text(ProjectionContract.TOPIC_PREFIX),
        read.list(ProjectionContract.LANES),
        read.text(ProjectionContract.GROUP_ID),
        read.text(ProjectionContract.START),
        read.text(ProjectionContract.STOP),
        read.text(ProjectionContract.SOURCE_ID),
        read.number(ProjectionContract.GENERATION),
        read.text(ProjectionContract.WRITER),
        read.text(ProjectionContract.VALKEY),
        Boolean.parseBoolean(read.text(ProjectionContract.VALKEY_CLUSTER)),
        jdbcUrl.isEmpty() ? null : jdbcUrl,
        read.text(ProjectionContract.JDBC_USER),
        propertiesFile.isEmpty() ? null : propertiesFile,
        kafkaProperties(parameters),
        read.number(ProjectionContract.PARALLELISM),
        Duration.ofMillis(read.number(ProjectionContract.CHECKPOINT_INTERVAL, "ms")),
        read.listAt(REDACTED));
  }

  private static Map<String, String> kafkaProperties(Map<String, String> parameters) {
    Map<String, String> properties = new LinkedHashMap<>();
    parameters.forEach(
        (key, value) -> {
          if (key.startsWith(KAFKA_PREFIX)) {
            properties.put(key.substring(KAFKA_PREFIX.length()), value);
          }
        });
    return properties;
  }

  private static void put(Map<String, String> out, String option, String value) {
    out.put(parameter(option), value);
  }

  private record Reader(Map<String, String> parameters, String jobId) {

    String text(String option) {
      return at(parameter(option), "its resolved " + option);
    }

    String at(String name, String what) {
      String value = parameters.get(name);
      if (value == null) {
        throw new IllegalStateException(
            "job "
                + jobId
                + " did not publish "
                + name
                + " ("
                + what
                + "): it was submitted by an older Tally; resubmit it from its latest"
                + " savepoint with this version's jobs jar");
      }
      return value;
    }

    List<String> list(String option) {
      return split(text(option));
    }

    List<String> listAt(String name) {
      return split(at(name, "what its published arguments redact"));
    }

    private static List<String> split(String value) {
      return value.isEmpty() ? List.of() : new ArrayList<>(Arrays.asList(value.split(",")));
    }

    int number(String option) {
      return (int) number(option, "");
    }

    /** A number published with {@code unit} after it. */
    long number(String option, String unit) {
      String value = text(option);
      try {
        if (!value.endsWith(unit)) {
          throw new NumberFormatException(value);
        }
        return Long.parseLong(value.substring(0, value.length() - unit.length()));
      } catch (NumberFormatException e) {
        throw new IllegalStateException(
            "job " + jobId + " published " + parameter(option) + "='" + value + "', not a number");
      }
    }
  }
}
