package dev.tally.jobs.sinks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchException;

import dev.tally.common.views.Partial;
import dev.tally.common.views.ValkeyEndpoint;
import dev.tally.common.views.ViewKeys;
import dev.tally.common.views.ViewUpdate;
import dev.tally.testing.ValkeyExtension;
import dev.tally.testing.ValkeyServer;
import io.valkey.UnifiedJedis;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Which Valkey failures the sink retries, against a real valkey-server: a key of the wrong type is
 * deterministic (retrying it would block the job forever), a server out of reach passes by itself.
 */
@ExtendWith(ValkeyExtension.class)
class ValkeySinkTargetIT {

  private static final int GENERATION = 41;

  private static ViewUpdate score(String user) {
    return new ViewUpdate(
        "user_score", user, "live/p0", 1, Partial.builder().sum("points", 10).build(), 0);
  }

  @Test
  void aKeyOfTheWrongTypeFailsTheWriteAndIsNotRetried(ValkeyServer valkey) {
    ValkeyEndpoint endpoint = ValkeyEndpoint.parse(valkey.uri(), false, null);
    String user = "wrong-type-user";
    try (UnifiedJedis client = endpoint.connect()) {
      String key = ViewKeys.entry(GENERATION, "user_score", user);
      client.del(key);
      client.set(key, "a string where the view keeps a hash");
      ValkeySink.Target target = new ValkeySink.Target(endpoint, GENERATION);
      try {
        Exception failure = catchException(() -> target.write(List.of(score(user))));
        assertThat(failure).isNotNull();
        assertThat(failure.getMessage()).contains("WRONGTYPE");
        assertThat(target.isTransient(failure)).as("retried: %s", failure).isFalse();
      } finally {
        target.close();
        client.del(key);
      }
      // The same update to a key that is free goes through: the failure was the key, not the call.
      ValkeySink.Target healthy = new ValkeySink.Target(endpoint, GENERATION);
      try {
        assertThat(healthy.write(List.of(score("free-user"))).applied()).isEqualTo(1);
      } finally {
        healthy.close();
        client.del(ViewKeys.entry(GENERATION, "user_score", "free-user"));
      }
    }
  }

  @Test
  void aServerOutOfReachIsRetried() {
    ValkeyEndpoint closed = ValkeyEndpoint.parse("redis://127.0.0.1:1", false, null);
    ValkeySink.Target target = new ValkeySink.Target(closed, GENERATION);
    try {
      Exception failure = catchException(() -> target.write(List.of(score("anyone"))));
      assertThat(failure).isNotNull();
      assertThat(target.isTransient(failure)).as("retried: %s", failure).isTrue();
    } finally {
      target.close();
    }
  }
}
