package dev.tally.replay;

import dev.tally.common.flink.JobArguments;
import dev.tally.common.flink.PublishedOptions;
import java.util.List;
import java.util.Map;

/**
 * A running projection job: the options it resolved and published ({@link PublishedOptions}), read
 * by the control plane, and its arguments ({@link JobArguments#KEY}), to restart it with a few
 * changed.
 */
public record TallyJob(String id, String name, PublishedOptions options, JobArguments args) {

  /** The job {@code id} whose user config is {@code parameters}. */
  public static TallyJob of(String id, String name, Map<String, String> parameters) {
    return new TallyJob(
        id,
        name,
        PublishedOptions.fromParameters(parameters, id),
        JobArguments.fromParameters(parameters, id));
  }

  /** The generation it writes. */
  public int generation() {
    return options.generation();
  }

  /** Its lanes' topics, in lane order. */
  public List<String> topics() {
    return options.topics();
  }

  /**
   * Refuses to act on a job whose published arguments lack secrets it was given inline (they are
   * redacted: {@link JobArguments#redacted()}), before anything is stopped: it could not be
   * restarted from them.
   */
  public void requireRestartable(String what) {
    requireRestartable(id, options.redacted(), what);
  }

  /** {@link #requireRestartable(String)} for job {@code id}, stopped, with {@code args}. */
  static void requireRestartable(String id, JobArguments args, String what) {
    requireRestartable(id, args.redactedKeys(), what);
  }

  private static void requireRestartable(String id, List<String> keys, String what) {
    if (!keys.isEmpty()) {
      throw new IllegalStateException(
          "cannot "
              + what
              + ": job "
              + id
              + " was given "
              + String.join(", ", keys)
              + " inline with --kafka-property, which its published configuration redacts, so it"
              + " cannot be restarted from there; give secrets in a file with"
              + " --kafka-properties-file (docs/projection-job.md) and resubmit it");
    }
  }

  @Override
  public String toString() {
    return id + " (" + name + ")";
  }
}
