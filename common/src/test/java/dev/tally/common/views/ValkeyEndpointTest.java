package dev.tally.common.views;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class ValkeyEndpointTest {

  @Test
  void userAndPasswordInTheUrlAreTakenNotIgnored() {
    ValkeyEndpoint endpoint =
        ValkeyEndpoint.parse("redis://tally-job:p%40ss@v1:6379", false, "env");
    assertThat(endpoint.nodes()).containsExactly("v1:6379");
    assertThat(endpoint.user()).isEqualTo("tally-job");
    assertThat(endpoint.password())
        .as("the URL's, decoded, over the environment's")
        .isEqualTo("p@ss");
    assertThat(endpoint.tls()).isFalse();
    assertThat(endpoint.toString()).doesNotContain("p@ss").contains("tally-job@v1:6379");

    ValkeyEndpoint defaultUser = ValkeyEndpoint.parse("valkey://:secret@v1:6379", false, null);
    assertThat(defaultUser.user()).isNull();
    assertThat(defaultUser.password()).isEqualTo("secret");

    ValkeyEndpoint fromEnvironment = ValkeyEndpoint.parse("redis://reader@v1:6379", false, "pw");
    assertThat(fromEnvironment.user()).isEqualTo("reader");
    assertThat(fromEnvironment.password()).isEqualTo("pw");
  }

  @Test
  void tlsSchemesAndClusters() {
    ValkeyEndpoint tls = ValkeyEndpoint.parse("rediss://v1:6380,v2:6380", false, null);
    assertThat(tls.tls()).isTrue();
    assertThat(tls.cluster()).isTrue();
    assertThat(tls.nodes()).containsExactly("v1:6380", "v2:6380");
    assertThat(ValkeyEndpoint.parse("valkeys://v1:6380", false, null).tls()).isTrue();
    assertThat(ValkeyEndpoint.parse("v1:6380", false, null).tls()).isFalse();
    assertThatThrownBy(() -> ValkeyEndpoint.parse("redis://v1", false, null))
        .hasMessageContaining("is not host:port");
  }

  @Test
  void aCaFileIsForTlsOnlyAndMustHoldACertificate(@org.junit.jupiter.api.io.TempDir Path dir)
      throws Exception {
    ValkeyEndpoint tls = ValkeyEndpoint.parse("rediss://v1:6380", false, null);
    assertThat(tls.withCaFile(null)).isSameAs(tls);
    assertThat(tls.withCaFile(" ")).isSameAs(tls);
    assertThatThrownBy(
            () -> ValkeyEndpoint.parse("redis://v1:6380", false, null).withCaFile("/ca.pem"))
        .hasMessageContaining("is only for TLS: use a rediss:// or valkeys:// URL");
    assertThatThrownBy(() -> tls.withCaFile(dir.resolve("absent.pem").toString()))
        .hasMessageContaining("absent.pem cannot be read");
    Path garbage = Files.writeString(dir.resolve("garbage.pem"), "not a certificate\n");
    assertThatThrownBy(() -> tls.withCaFile(garbage.toString()))
        .hasMessageContaining("garbage.pem")
        .hasMessageContaining("no");
  }

  @Test
  void aPublishedUrlHoldsNoPassword() {
    assertThat(ValkeyEndpoint.withoutPassword("redis://u:pw@v1:6379", "<redacted>"))
        .isEqualTo("redis://u:<redacted>@v1:6379");
    assertThat(ValkeyEndpoint.withoutPassword("redis://:pw@v1:6379,v2:6379", "x"))
        .isEqualTo("redis://:x@v1:6379,v2:6379");
    for (String unchanged : List.of("redis://u@v1:6379", "redis://v1:6379", "v1:6379")) {
      assertThat(ValkeyEndpoint.withoutPassword(unchanged, "x")).isEqualTo(unchanged);
    }
    // url() is what a job publishes and replay parses back: the user survives the round trip.
    for (String user : List.of("ops team", "a+b", "dept/ops@x")) {
      ValkeyEndpoint endpoint =
          ValkeyEndpoint.parse(
              "redis://"
                  + java.net.URLEncoder.encode(user, java.nio.charset.StandardCharsets.UTF_8)
                      .replace("+", "%20")
                  + ":pw@v1:6379",
              false,
              null);
      assertThat(ValkeyEndpoint.parse(endpoint.url(), false, null).url()).isEqualTo(endpoint.url());
      assertThat(endpoint.url()).doesNotContain(":pw");
    }
  }
}
