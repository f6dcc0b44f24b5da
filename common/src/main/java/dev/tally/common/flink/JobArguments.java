package dev.tally.common.flink;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A job's command-line arguments as it publishes them in its global job parameters (Flink REST:
 * {@code /jobs/<id>/config}, {@code user-config}), so tools can restart it with the same arguments
 * and a few changed ({@code tally replay}). Secrets never are arguments (they come from the
 * environment or files), so publishing them reveals nothing.
 */
public final class JobArguments {

  /** The global job parameter holding the arguments, a JSON array of strings. */
  public static final String KEY = "tally.args";

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
