package dev.tally.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ValkeyBinariesTest {

  @Test
  void missingValkeyFailsWithTheInstallCommand() {
    assertThatThrownBy(() -> ValkeyBinaries.locate("/nonexistent-bin-dir"))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("valkey-server and valkey-cli not found")
        .hasMessageContaining("make deps")
        .hasMessageContaining(
            "apt-get install -y -t bookworm-backports valkey-server valkey-tools");
  }

  @Test
  void valkeyIsFoundOnThePath() {
    ValkeyBinaries binaries = ValkeyBinaries.locate();
    assertThat(binaries.server().getFileName().toString()).isEqualTo("valkey-server");
    assertThat(binaries.cli().getFileName().toString()).isEqualTo("valkey-cli");
  }
}
