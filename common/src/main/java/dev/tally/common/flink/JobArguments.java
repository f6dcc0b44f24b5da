package dev.tally.common.flink;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tally.common.views.ValkeyEndpoint;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A job's command-line arguments as it publishes them in its global job parameters (Flink REST:
 * {@code /jobs/<id>/config}, {@code user-config}), so tools can restart it with the same arguments
 * and a few changed ({@code tally replay}). Passwords come from the environment or files; a Kafka
 * property that carries a secret ({@code sasl.jaas.config}, {@code ssl.*.password}, …) given inline
 * with {@code --kafka-property} is published {@link #redacted()}: give such properties in a file
 * ({@code --kafka-properties-file}) for tools to be able to restart the job.
 */
public final class JobArguments {

  /** The global job parameter holding the arguments, a JSON array of strings. */
  public static final String KEY = "tally.args";

  /**
   * The projection job's key groups (Flink's max parallelism), fixed so that its keyed state (dedup
   * ids, views) restores at any parallelism from 1 up to this; a savepoint taken with another
   * number of key groups does not restore.
   */
  public static final int MAX_PARALLELISM = 128;

  /** What a secret's value is published as. */
  public static final String REDACTED = "<redacted>";

  /** The option whose {@code key=value} may carry a secret. */
  public static final String KAFKA_PROPERTY = "--kafka-property";

  /** The option whose URL may carry a password ({@code redis://user:password@host:port}). */
  public static final String VALKEY = "--valkey";

  /** Key fragments of Kafka properties that carry secrets (lower case). */
  private static final List<String> SECRET_KEYS =
      List.of("password", "secret", "jaas.config", "keystore.key", "user.info", "token");

  private static final ObjectMapper JSON = new ObjectMapper();

  private final List<String> args;

  public JobArguments(List<String> args) {
    this.args = List.copyOf(args);
  }

  /** The parameters a job publishes: {@code tally.args} = the arguments as JSON. */
  public Map<String, String> toParameters() {
    try {
      return Map.of(KEY, JSON.writeValueAsString(args));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The arguments a job published, from its user config. */
  public static JobArguments fromParameters(Map<String, String> parameters, String jobId) {
    String json = parameters.get(KEY);
    if (json == null) {
      throw new IllegalStateException(
          "job "
              + jobId
              + " did not publish its arguments ("
              + KEY
              + " missing from its config): is it a Tally projection job?");
    }
    try {
      return new JobArguments(JSON.readValue(json, new TypeReference<List<String>>() {}));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("job " + jobId + " published unreadable arguments: " + json);
    }
  }

  public List<String> list() {
    return args;
  }

  /** Whether a Kafka property key names a secret, e.g. {@code sasl.jaas.config}. */
  public static boolean isSecretKey(String key) {
    String lower = key.toLowerCase(java.util.Locale.ROOT);
    return SECRET_KEYS.stream().anyMatch(lower::contains);
  }

  /**
   * These arguments with the value of every secret {@code --kafka-property key=value} replaced by
   * {@link #REDACTED}: what a job publishes and logs.
   */
  public JobArguments redacted() {
    List<String> copy = new ArrayList<>(args.size());
    for (int i = 0; i < args.size(); i++) {
      String arg = args.get(i);
      if (arg.equals(KAFKA_PROPERTY) && i + 1 < args.size()) {
        copy.add(arg);
        copy.add(redactProperty(args.get(++i)));
      } else if (arg.startsWith(KAFKA_PROPERTY + "=")) {
        copy.add(KAFKA_PROPERTY + "=" + redactProperty(arg.substring(KAFKA_PROPERTY.length() + 1)));
      } else if (arg.equals(VALKEY) && i + 1 < args.size()) {
        copy.add(arg);
        copy.add(ValkeyEndpoint.withoutPassword(args.get(++i), REDACTED));
      } else if (arg.startsWith(VALKEY + "=")) {
        copy.add(
            VALKEY
                + "="
                + ValkeyEndpoint.withoutPassword(arg.substring(VALKEY.length() + 1), REDACTED));
      } else {
        copy.add(arg);
      }
    }
    return new JobArguments(copy);
  }

  /**
   * What {@link #redacted()} hid: the keys of Kafka properties, and {@code --valkey password} for a
   * password in the Valkey URL.
   */
  public List<String> redactedKeys() {
    List<String> keys = new ArrayList<>();
    String valkey = value(VALKEY, "");
    if (valkey.contains(":" + REDACTED + "@")) {
      keys.add(VALKEY + " password");
    }
    for (String property : values(KAFKA_PROPERTY)) {
      int at = property.indexOf('=');
      if (at > 0 && property.substring(at + 1).equals(REDACTED)) {
        keys.add(property.substring(0, at));
      }
    }
    return keys;
  }

  private static String redactProperty(String property) {
    int at = property.indexOf('=');
    if (at > 0 && isSecretKey(property.substring(0, at))) {
      return property.substring(0, at) + "=" + REDACTED;
    }
    return property;
  }

  /** The value of {@code --option value} or {@code --option=value}; {@code fallback} if absent. */
  public String value(String option, String fallback) {
    List<String> values = values(option);
    return values.isEmpty() ? fallback : values.get(values.size() - 1);
  }

  /** Every value of a repeatable option ({@code --option value} or {@code --option=value}). */
  public List<String> values(String option) {
    List<String> found = new ArrayList<>();
    for (int i = 0; i < args.size(); i++) {
      String arg = args.get(i);
      if (arg.equals(option) && i + 1 < args.size()) {
        found.add(args.get(++i));
      } else if (arg.startsWith(option + "=")) {
        found.add(arg.substring(option.length() + 1));
      }
    }
    return found;
  }

  /** These arguments with {@code option} set to {@code value} (every earlier form removed). */
  public JobArguments with(String option, String value) {
    List<String> changed = without(option).args;
    List<String> copy = new ArrayList<>(changed);
    copy.add(option);
    copy.add(value);
    return new JobArguments(copy);
  }

  /** These arguments without {@code option} (either form) and its value. */
  public JobArguments without(String option) {
    List<String> copy = new ArrayList<>();
    for (int i = 0; i < args.size(); i++) {
      String arg = args.get(i);
      if (arg.equals(option)) {
        i++;
      } else if (!arg.startsWith(option + "=")) {
        copy.add(arg);
      }
    }
    return new JobArguments(copy);
  }

  @Override
  public String toString() {
    return String.join(" ", args);
  }
}
