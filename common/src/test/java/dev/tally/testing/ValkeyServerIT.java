package dev.tally.testing;

import static org.assertj.core.api.Assertions.assertThat;

import io.valkey.Jedis;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(ValkeyExtension.class)
class ValkeyServerIT {

  /** Sets KEYS[1] to ARGV[2] only when ARGV[1] is newer than the version stored beside it. */
  private static final String SET_IF_NEWER =
      """
      local stored = tonumber(redis.call('HGET', KEYS[1], 'version') or '-1')
      if tonumber(ARGV[1]) <= stored then return 0 end
      redis.call('HSET', KEYS[1], 'version', ARGV[1], 'value', ARGV[2])
      return 1
      """;

  @Test
  void luaScriptRunsOnTheServer(ValkeyServer valkey) {
    String key = valkey.uniquePrefix("lua") + "score";
    try (Jedis jedis = valkey.client()) {
      assertThat(jedis.eval(SET_IF_NEWER, List.of(key), List.of("2", "20"))).isEqualTo(1L);
      assertThat(jedis.eval(SET_IF_NEWER, List.of(key), List.of("1", "10"))).isEqualTo(0L);
      assertThat(jedis.hget(key, "value")).isEqualTo("20");
      assertThat(jedis.hget(key, "version")).isEqualTo("2");
    }
  }

  @Test
  void plannedRestartKeepsAcknowledgedWrites(ValkeyServer valkey) {
    String key = valkey.uniquePrefix("restart") + "k";
    long pidBefore = valkey.pid();
    try (Jedis jedis = valkey.client()) {
      jedis.set(key, "before");
    }

    valkey.restart(java.time.Duration.ofMillis(100));

    assertThat(valkey.pid()).isNotEqualTo(pidBefore);
    try (Jedis jedis = valkey.client()) {
      assertThat(jedis.get(key)).isEqualTo("before");
      jedis.set(key, "after");
      assertThat(jedis.get(key)).isEqualTo("after");
    }
  }
}
