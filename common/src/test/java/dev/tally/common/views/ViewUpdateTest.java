package dev.tally.common.views;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ViewUpdateTest {

  private static ViewUpdate update(String view, String key, String writer, long version) {
    return new ViewUpdate(view, key, writer, version, "sum:points=" + version, 0);
  }

  @Test
  void updatesCoalesceByViewKeyAndWriterOnly() {
    Map<ViewUpdate.Identity, Long> latest = new HashMap<>();
    for (ViewUpdate update :
        new ViewUpdate[] {
          update("user_score", "u1", "live/p0", 1),
          update("user_score", "u1", "live/p0", 2), // the same entry and writer: replaces
          update("user_score", "u1", "live/p1", 3), // another writer
          update("user_score", "u2", "live/p0", 4), // another key
          update("leaderboard", "u1", "live/p0", 5), // another view
          update("user_score", null, "live/p0", 6), // a missing key is a key too
          update("user_score", null, "live/p0", 7)
        }) {
      latest.put(update.coalesceKey(), update.version);
    }

    assertThat(latest)
        .hasSize(5)
        .containsEntry(new ViewUpdate.Identity("user_score", "u1", "live/p0"), 2L)
        .containsEntry(new ViewUpdate.Identity("user_score", "u1", "live/p1"), 3L)
        .containsEntry(new ViewUpdate.Identity("user_score", "u2", "live/p0"), 4L)
        .containsEntry(new ViewUpdate.Identity("leaderboard", "u1", "live/p0"), 5L)
        .containsEntry(new ViewUpdate.Identity("user_score", null, "live/p0"), 7L);
    assertThat(new ViewUpdate.Identity("a", "b", "c"))
        .isNotEqualTo(new ViewUpdate.Identity("b", "a", "c"))
        .isNotEqualTo(null)
        .hasSameHashCodeAs(new ViewUpdate.Identity("a", "b", "c"));
  }
}
