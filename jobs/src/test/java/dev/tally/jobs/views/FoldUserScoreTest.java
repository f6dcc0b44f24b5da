package dev.tally.jobs.views;

import static dev.tally.jobs.TestEvents.HUNT_1;
import static dev.tally.jobs.TestEvents.T0;
import static dev.tally.jobs.TestEvents.USER_1;
import static dev.tally.jobs.TestEvents.USER_2;
import static dev.tally.jobs.TestEvents.checkIn;
import static dev.tally.jobs.TestEvents.event;
import static org.assertj.core.api.Assertions.assertThat;

import dev.tally.common.views.ViewUpdate;
import dev.tally.jobs.decode.FoldEvent;
import dev.tally.jobs.projection.ByUser;
import java.time.Duration;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.util.ProcessFunctionTestHarnesses;
import org.junit.jupiter.api.Test;

class FoldUserScoreTest {

  private static final ViewContext CONTEXT =
      new ViewContext(
          PointsRules.parse("CHECKIN=10,QR_SCAN=25,TASK_COMPLETED=50,DAILY_BONUS=100,PURCHASE=20"),
          Duration.ZERO,
          "live",
          "p1");

  @Test
  void scoreSumsPointsCountsEventsAndKeepsTheLatestActivity() throws Exception {
    try (var harness =
        ProcessFunctionTestHarnesses.forKeyedProcessFunction(
            new FoldUserScore(CONTEXT), new ByUser(), Types.STRING)) {
      FoldEvent task = event("e2", "TASK_COMPLETED", USER_1, HUNT_1, T0.plusSeconds(10));
      task.payloadPoints = 7;
      harness.processElement(checkIn("e1", USER_1, T0.plusSeconds(20)), 0);
      harness.processElement(task, 0);
      harness.processElement(checkIn("e3", USER_2, T0), 0);

      assertThat(harness.extractOutputValues())
          .extracting(u -> u.key, u -> u.version, u -> u.partial)
          .containsExactly(
              org.assertj.core.groups.Tuple.tuple(
                  USER_1,
                  1L,
                  "sum:points=10;sum:events=1;max:last_activity_ms="
                      + T0.plusSeconds(20).toEpochMilli()),
              org.assertj.core.groups.Tuple.tuple(
                  USER_1,
                  2L,
                  "sum:points=17;sum:events=2;max:last_activity_ms="
                      + T0.plusSeconds(20).toEpochMilli()),
              org.assertj.core.groups.Tuple.tuple(
                  USER_2,
                  1L,
                  "sum:points=10;sum:events=1;max:last_activity_ms=" + T0.toEpochMilli()));
      assertThat(harness.extractOutputValues())
          .allSatisfy((ViewUpdate u) -> assertThat(u.writer).isEqualTo("live/p1"));
    }
  }
}
