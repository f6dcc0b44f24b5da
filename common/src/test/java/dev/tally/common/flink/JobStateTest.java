package dev.tally.common.flink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class JobStateTest {

  @Test
  void parsesFlinksNamesAndRefusesOthersNamingTheKnownOnes() {
    assertThat(JobState.parse("RUNNING")).isEqualTo(JobState.RUNNING);
    assertThat(TaskState.parse("DEPLOYING")).isEqualTo(TaskState.DEPLOYING);
    assertThatThrownBy(() -> JobState.parse("running"))
        .isInstanceOf(FlinkRestClient.FlinkRestException.class)
        .hasMessageContaining("'running'")
        .hasMessageContaining("RUNNING, FAILING");
    assertThatThrownBy(() -> TaskState.parse(""))
        .isInstanceOf(FlinkRestClient.FlinkRestException.class);
  }

  @Test
  void onlyFailedCanceledAndFinishedAreGloballyTerminal() {
    for (JobState state : JobState.values()) {
      boolean expected =
          state == JobState.FAILED || state == JobState.CANCELED || state == JobState.FINISHED;
      assertThat(state.isGloballyTerminal()).as(state.name()).isEqualTo(expected);
    }
  }
}
