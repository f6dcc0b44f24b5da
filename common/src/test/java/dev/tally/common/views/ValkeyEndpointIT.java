package dev.tally.common.views;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tally.testing.ValkeyExtension;
import dev.tally.testing.ValkeyServer;
import io.valkey.Jedis;
import io.valkey.UnifiedJedis;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** A user and password in the Valkey URL log in as that ACL user on a real server. */
@ExtendWith(ValkeyExtension.class)
class ValkeyEndpointIT {

  @Test
  void theUrlsUserAndPasswordAreUsedToLogIn(ValkeyServer valkey) {
    String user = valkey.uniquePrefix("acl").replace(":", "");
    try (Jedis admin = valkey.client()) {
      admin.aclSetUser(user, "on", ">s3cret", "~" + user + ":*", "+@all");
    }
    try {
      String url = "redis://" + user + ":s3cret@" + valkey.host() + ":" + valkey.port();
      try (UnifiedJedis client = ValkeyEndpoint.parse(url, false, null).connect()) {
        client.set(user + ":k", "v");
        assertThat(client.get(user + ":k")).isEqualTo("v");
        assertThatThrownBy(() -> client.set("elsewhere", "v"))
            .as("the ACL user's key pattern applies: it is this user, not the default one")
            .hasMessageContaining("NOPERM");
      }
      String wrong = "redis://" + user + ":nope@" + valkey.host() + ":" + valkey.port();
      try (UnifiedJedis client = ValkeyEndpoint.parse(wrong, false, null).connect()) {
        assertThatThrownBy(() -> client.get(user + ":k")).hasMessageContaining("WRONGPASS");
      }
    } finally {
      try (Jedis admin = valkey.client()) {
        admin.aclDelUser(user);
      }
    }
  }
}
