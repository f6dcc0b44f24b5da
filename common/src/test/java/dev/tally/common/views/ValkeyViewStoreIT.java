package dev.tally.common.views;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tally.testing.ValkeyExtension;
import dev.tally.testing.ValkeyServer;
import io.valkey.Jedis;
import io.valkey.UnifiedJedis;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The write path on a standalone valkey-server. */
@ExtendWith(ValkeyExtension.class)
class ValkeyViewStoreIT extends ValkeyViewStoreContract {

  private static ValkeyServer valkey;

  @BeforeAll
  static void server(ValkeyServer server) {
    valkey = server;
  }

  @Override
  protected ValkeyViewStore newStore(int generation) {
    return new ValkeyViewStore(ValkeyEndpoint.parse(valkey.uri(), false, null), generation, 500);
  }

  @Override
  protected UnifiedJedis newClient() {
    return ValkeyEndpoint.parse(valkey.uri(), false, null).connect();
  }

  @Override
  protected boolean announcesEveryGeneration() {
    return false;
  }

  @Override
  protected void flushScripts() {
    try (Jedis jedis = valkey.client()) {
      jedis.scriptFlush();
    }
  }

  @Test
  void aWholeBatchIsOneScriptCallOnASingleNode() {
    List<ViewUpdate> updates = new ArrayList<>();
    for (int i = 0; i < 300; i++) {
      updates.add(score("user-" + i, "live/p0", 1, i, i));
    }

    ValkeyViewStore.Result result = store.apply(updates);

    assertThat(result.calls()).isEqualTo(1);
    assertThat(result.applied()).isEqualTo(300);
  }
}
