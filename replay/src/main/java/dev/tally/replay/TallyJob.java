package dev.tally.replay;

import dev.tally.common.events.Lane;
import dev.tally.common.flink.JobArguments;
import dev.tally.common.flink.ProjectionContract;
import java.util.ArrayList;
import java.util.List;

/** A running projection job and the arguments it published ({@link JobArguments#KEY}). */
public record TallyJob(String id, String name, JobArguments args) {

  /** The generation it writes. */
  public int generation() {
    return Integer.parseInt(
        args.value(ProjectionContract.GENERATION, ProjectionContract.GENERATION_DEFAULT));
  }

  /** Its lanes' topics, in lane order. */
  public List<String> topics() {
    String prefix =
        args.value(ProjectionContract.TOPIC_PREFIX, ProjectionContract.TOPIC_PREFIX_DEFAULT);
    List<String> topics = new ArrayList<>();
    for (String lane :
        args.value(ProjectionContract.LANES, ProjectionContract.LANES_DEFAULT).split(",")) {
      String topic = Lane.parse(lane.trim()).topic(prefix);
      if (!topics.contains(topic)) {
        topics.add(topic);
      }
    }
    return topics;
  }

  /**
   * Refuses to act on a job whose published arguments lack secrets it was given inline (they are
   * redacted: {@link JobArguments#redacted()}), before anything is stopped: it could not be
   * restarted from them.
   */
  public void requireRestartable(String what) {
    List<String> keys = args.redactedKeys();
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
