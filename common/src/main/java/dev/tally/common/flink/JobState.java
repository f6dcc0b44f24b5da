package dev.tally.common.flink;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * A job's state as Flink's REST API reports it ({@code JobStatus}): the values callers compare, so
 * no tool compares state strings.
 */
public enum JobState {
  INITIALIZING,
  CREATED,
  RUNNING,
  FAILING,
  FAILED,
  CANCELLING,
  CANCELED,
  FINISHED,
  RESTARTING,
  SUSPENDED,
  RECONCILING;

  /** Whether the job has ended for good: it will not run again on this cluster. */
  public boolean isGloballyTerminal() {
    return this == FAILED || this == CANCELED || this == FINISHED;
  }

  /** Whether the job has ended or is ending without having finished its input. */
  public boolean isEndingBadly() {
    return this == FAILED || this == FAILING || this == CANCELED || this == CANCELLING;
  }

  /**
   * The state named by Flink.
   *
   * @throws FlinkRestClient.FlinkRestException for a name this client does not know
   */
  public static JobState parse(String name) {
    for (JobState state : values()) {
      if (state.name().equals(name)) {
        return state;
      }
    }
    throw new FlinkRestClient.FlinkRestException(
        "Flink reported job state '"
            + name
            + "', not one of "
            + Arrays.stream(values()).map(Enum::name).collect(Collectors.joining(", ")),
        null);
  }
}
