package dev.tally.common.flink;

import java.util.Arrays;
import java.util.stream.Collectors;

/** A vertex's aggregated task state as Flink's REST API reports it ({@code ExecutionState}). */
public enum TaskState {
  CREATED,
  SCHEDULED,
  DEPLOYING,
  INITIALIZING,
  RUNNING,
  FINISHED,
  CANCELING,
  CANCELED,
  FAILED,
  RECONCILING;

  /**
   * The state named by Flink.
   *
   * @throws FlinkRestClient.FlinkRestException for a name this client does not know
   */
  public static TaskState parse(String name) {
    for (TaskState state : values()) {
      if (state.name().equals(name)) {
        return state;
      }
    }
    throw new FlinkRestClient.FlinkRestException(
        "Flink reported task state '"
            + name
            + "', not one of "
            + Arrays.stream(values()).map(Enum::name).collect(Collectors.joining(", ")),
        null);
  }
}
