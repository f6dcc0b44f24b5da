package dev.tally.common.views;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tally.testing.ValkeyCluster;
import dev.tally.testing.ValkeyClusterExtension;
import io.valkey.HostAndPort;
import io.valkey.Jedis;
import io.valkey.UnifiedJedis;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The write path on a real three-master Valkey cluster. */
@ExtendWith(ValkeyClusterExtension.class)
class ValkeyViewStoreClusterIT extends ValkeyViewStoreContract {

  private static ValkeyCluster cluster;

  @BeforeAll
  static void cluster(ValkeyCluster valkeyCluster) {
    cluster = valkeyCluster;
  }

  private static ValkeyEndpoint endpoint() {
    List<String> nodes = new ArrayList<>();
    cluster.nodes().forEach(node -> nodes.add(node.toString()));
    return new ValkeyEndpoint(nodes, true, null);
  }

  @Override
  protected ValkeyViewStore newStore(int generation) {
    return new ValkeyViewStore(endpoint(), generation, 500);
  }

  @Override
  protected UnifiedJedis newClient() {
    return endpoint().connect();
  }

  @Override
  protected boolean announcesEveryGeneration() {
    return true;
  }

  @Override
  protected void flushScripts() {
    for (HostAndPort node : cluster.nodes()) {
      try (Jedis jedis = cluster.nodeClient(node)) {
        jedis.scriptFlush();
      }
    }
  }

  @Test
  void oneScriptCallPerHashTagAndEveryEntryLandsOnItsSlotOwner() {
    List<ViewUpdate> updates = new ArrayList<>();
    Set<Integer> tags = new HashSet<>();
    for (int i = 0; i < 500; i++) {
      ViewUpdate update = score("user-" + i, "live/p0", 1, i, i);
      updates.add(update);
      tags.add(ViewKeys.tagOf(update));
    }

    ValkeyViewStore.Result result = store.apply(updates);

    assertThat(result.applied()).isEqualTo(500);
    assertThat(result.calls()).isEqualTo(tags.size()).isLessThanOrEqualTo(ViewKeys.TAGS);
    String key = ViewKeys.entry(store.generation(), "user_score", "user-7");
    try (Jedis owner = cluster.nodeClient(cluster.ownerOf(key))) {
      assertThat(owner.hget(key, "points")).isEqualTo("7");
    }
  }

  @Test
  void aLeaderboardEntryAndItsRankingShareANode() {
    store.apply(List.of(board("hunt-9", "u1", "live/p0", 1, 10)));

    String entry = ViewKeys.rankedEntry(store.generation(), "leaderboard", "hunt-9", "hunt-9|u1");
    String rank = ViewKeys.rank(store.generation(), "leaderboard", "hunt-9");
    assertThat(cluster.ownerOf(entry)).isEqualTo(cluster.ownerOf(rank));
    try (Jedis owner = cluster.nodeClient(cluster.ownerOf(rank))) {
      assertThat(owner.zscore(rank, "u1")).isEqualTo(10.0);
      assertThat(owner.hget(entry, "points")).isEqualTo("10");
    }
  }
}
