package dev.tally.common.replay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tally.common.views.ValkeyEndpoint;
import dev.tally.testing.ValkeyExtension;
import dev.tally.testing.ValkeyServer;
import io.valkey.UnifiedJedis;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** One replay at a time, against a real valkey-server. */
@ExtendWith(ValkeyExtension.class)
class ReplayLeaseIT {

  @Test
  void aSecondReplayIsRefusedWithWhoHoldsTheLeaseAndSinceWhenUntilTheFirstEnds(ValkeyServer valkey)
      throws Exception {
    try (UnifiedJedis client = ValkeyEndpoint.parse(valkey.uri(), false, null).connect()) {
      client.del(ReplayLease.KEY);
      try (ReplayLease first = ReplayLease.acquire(client, "rebuild")) {
        assertThat(ReplayLease.holder(client)).startsWith("rebuild by ").contains(" since 20");
        assertThatThrownBy(() -> ReplayLease.acquire(client, "cutover"))
            .isInstanceOf(IllegalStateException.class)
            .hasMessageStartingWith("another replay is running: rebuild by ")
            .hasMessageContaining("one replay at a time")
            .hasMessageContaining("expire in ");
      }
      assertThat(client.exists(ReplayLease.KEY)).isFalse();
      try (ReplayLease next = ReplayLease.acquire(client, "cutover")) {
        assertThat(ReplayLease.holder(client)).startsWith("cutover by ");
      }
    }
  }

  @Test
  void aLivingHolderKeepsItsLeasePastTheTtlAndADeadOneLosesIt(ValkeyServer valkey)
      throws Exception {
    Duration ttl = Duration.ofMillis(600);
    try (UnifiedJedis client = ValkeyEndpoint.parse(valkey.uri(), false, null).connect()) {
      client.del(ReplayLease.KEY);
      try (ReplayLease living = ReplayLease.acquire(client, "repair", ttl)) {
        Thread.sleep(3 * ttl.toMillis());
        assertThat(ReplayLease.holder(client)).as("renewed while its holder runs").isNotNull();
      }
      // A holder that died: its lease is written but nobody renews it.
      client.psetex(ReplayLease.KEY, ttl.toMillis(), "rescale by someone since then #0-0");
      assertThatThrownBy(() -> ReplayLease.acquire(client, "repair", ttl))
          .hasMessageContaining("rescale by someone since then");
      Thread.sleep(2 * ttl.toMillis());
      try (ReplayLease after = ReplayLease.acquire(client, "repair", ttl)) {
        assertThat(ReplayLease.holder(client)).startsWith("repair by ");
      }
    }
  }
}
