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
 * without its password, PostgreSQL's password not at all. The raw arguments ({@link JobArguments})
 * are published beside them, for restarting the job with a few changed.
 *
 * @param valkeyUrl {@code redis[s]://[user@]host:port[,…]}, no password
 * @param jdbcUrl null when the job writes no PostgreSQL copy
 * @param parallelism the job's default parallelism as resolved on the cluster
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
    int parallelism,
    Duration checkpointInterval) {

  /** What every published option's parameter name starts with. */
  public static final String PREFIX = "tally.option.";

  public PublishedOptions {
    lanes = List.copyOf(lanes);
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
        read.number(ProjectionContract.PARALLELISM),
        Duration.ofMillis(read.number(ProjectionContract.CHECKPOINT_INTERVAL, "ms")));
  }

  private static void put(Map<String, String> out, String option, String value) {
    out.put(parameter(option), value);
  }

  private record Reader(Map<String, String> parameters, String jobId) {

    String text(String option) {
      String value = parameters.get(parameter(option));
      if (value == null) {
        throw new IllegalStateException(
            "job "
                + jobId
                + " did not publish "
                + parameter(option)
                + " (its resolved "
                + option
                + "): it was submitted by an older Tally; resubmit it from its latest"
                + " savepoint with this version's jobs jar");
      }
      return value;
    }

    List<String> list(String option) {
      String value = text(option);
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
