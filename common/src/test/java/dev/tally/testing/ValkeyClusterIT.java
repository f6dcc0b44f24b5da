package dev.tally.testing;

import static org.assertj.core.api.Assertions.assertThat;

import io.valkey.HostAndPort;
import io.valkey.Jedis;
import io.valkey.JedisCluster;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(ValkeyClusterExtension.class)
class ValkeyClusterIT {

  /** Writes two keys in one script: only legal in cluster mode when both share a slot. */
  private static final String WRITE_BOTH =
      """
      redis.call('SET', KEYS[1], ARGV[1])
      redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
      return redis.call('ZCARD', KEYS[2])
      """;

  @Test
  void clusterHasThreeMastersCoveringEverySlot(ValkeyCluster cluster) {
    try (Jedis node = cluster.nodeClient(cluster.nodes().iterator().next())) {
      String info = node.clusterInfo();
      assertThat(info)
          .contains("cluster_state:ok", "cluster_slots_assigned:16384", "cluster_size:3");
    }
  }

  @Test
  void hashTaggedKeysLandTogetherOnTheSlotOwner(ValkeyCluster cluster) {
    String prefix = cluster.uniquePrefix("tagged");
    String valueKey = prefix + "{hunt-7}:user:u1";
    String boardKey = prefix + "{hunt-7}:board";

    try (JedisCluster client = cluster.client()) {
      assertThat(client.eval(WRITE_BOTH, List.of(valueKey, boardKey), List.of("u1", "42")))
          .isEqualTo(1L);
    }

    HostAndPort owner = cluster.ownerOf(valueKey);
    assertThat(cluster.ownerOf(boardKey)).isEqualTo(owner);
    Set<HostAndPort> nodes = cluster.nodes();
    assertThat(nodes).contains(owner);
    for (HostAndPort node : nodes) {
      try (Jedis direct = cluster.nodeClient(node)) {
        Set<String> keysHere = direct.keys(prefix + "*");
        if (node.equals(owner)) {
          assertThat(keysHere).containsExactlyInAnyOrder(valueKey, boardKey);
          assertThat(direct.get(valueKey)).isEqualTo("u1");
          assertThat(direct.zscore(boardKey, "u1")).isEqualTo(42.0);
        } else {
          assertThat(keysHere).isEmpty();
        }
      }
    }
  }
}
