package dev.tally.replay;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class RepairTest {

  @Test
  void repairsStartedWithinOneSecondGetSourceIdsOfTheirOwn() {
    // The old id was "repair-" + the epoch second: a second repair within the same second reused
    // the first one's source uid, restored its offsets from the savepoint and re-read nothing.
    Set<String> ids = new HashSet<>();
    String live = "repair-first";
    for (int i = 0; i < 1_000; i++) {
      String id = Repair.sourceId(live);
      assertThat(id).isNotEqualTo(live).matches("[A-Za-z0-9_.-]+");
      ids.add(id);
      live = id;
    }
    assertThat(ids).hasSize(1_000);
  }
}
