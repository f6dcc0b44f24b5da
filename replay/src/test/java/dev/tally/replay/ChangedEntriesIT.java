package dev.tally.replay;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tally.common.views.Partial;
import dev.tally.common.views.ValkeyEndpoint;
import dev.tally.common.views.ValkeyViewStore;
import dev.tally.common.views.ViewKeys;
import dev.tally.common.views.ViewUpdate;
import dev.tally.common.wait.Poll;
import dev.tally.testing.ValkeyServer;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What a cutover compares again after its stop, heard from a real valkey-server's writers. */
class ChangedEntriesIT {

  @Test
  void hearsTheChangedEntriesOfBothGenerationsStaysSubscribedWhileIdleAndSaysWhenCutOff()
      throws Exception {
    try (ValkeyServer valkey = ValkeyServer.start()) {
      ValkeyEndpoint endpoint = ValkeyEndpoint.parse(valkey.uri(), false, null);
      try (ValkeyViewStore first = new ValkeyViewStore(endpoint, 1, 100);
          ValkeyViewStore second = new ValkeyViewStore(endpoint, 2, 100);
          ValkeyViewStore third = new ValkeyViewStore(endpoint, 3, 100)) {
        first.apply(List.of(score("before", 1))); // before listening: not heard
        try (ChangedEntries changes = ChangedEntries.listen(endpoint, 1, 2)) {
          first.apply(List.of(score("u1", 1), score("u2", 1)));
          first.apply(List.of(score("u1", 1))); // the same version again: no change, no message
          second.apply(List.of(score("u3", 1))); // the other generation's: as generation 1's key
          third.apply(List.of(score("u5", 1))); // neither's
          Poll.until(
              "the three changes of generations 1 and 2",
              Duration.ofSeconds(10),
              Duration.ofMillis(20),
              () -> changes.keys().size() == 3 ? true : null,
              () -> changes.keys().toString());
          assertThat(changes.keys())
              .containsExactlyInAnyOrder(
                  ViewKeys.entry(1, "user_score", "u1"),
                  ViewKeys.entry(1, "user_score", "u2"),
                  ViewKeys.entry(1, "user_score", "u3"));

          // Once the writer's call returned, the barrier leaves nothing on its way: no polling.
          for (int i = 0; i < 50; i++) {
            first.apply(List.of(score("b" + i, 1)));
            assertThat(changes.heardAllPublished(Duration.ofSeconds(5))).isTrue();
            assertThat(changes.keys()).contains(ViewKeys.entry(1, "user_score", "b" + i));
          }

          // Idle for longer than a silent server is tolerated: the pings keep it heard from.
          Thread.sleep(7_000);
          assertThat(changes.complete()).as("heard from while idle").isTrue();
          first.apply(List.of(score("u4", 2)));
          Poll.until(
              "the change after the idle time",
              Duration.ofSeconds(10),
              Duration.ofMillis(20),
              () -> changes.keys().size() == 54 ? true : null,
              () -> changes.keys().toString());
          assertThat(changes.complete()).as("nothing missed while idle").isTrue();

          valkey.crash(Duration.ofMillis(100));
          Poll.until(
              "the subscription known to be cut off",
              Duration.ofSeconds(20),
              Duration.ofMillis(50),
              () -> changes.complete() ? null : true);
          assertThat(changes.heardAllPublished(Duration.ofSeconds(1)))
              .as("no barrier through a cut-off subscription")
              .isFalse();
        }
      }
    }
  }

  private static ViewUpdate score(String user, long version) {
    return new ViewUpdate(
        "user_score",
        user,
        "live/p0",
        version,
        Partial.builder().sum("points", version).sum("events", version).build(),
        0);
  }
}
