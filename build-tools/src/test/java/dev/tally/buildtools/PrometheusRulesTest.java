package dev.tally.buildtools;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The alert rules (deploy/prometheus/alerts.yml) are valid Prometheus rules, and each alert fires
 * on the series it is meant for and not on healthy ones (alerts.test.yml), by Prometheus' own
 * promtool ({@code make deps} installs it).
 */
class PrometheusRulesTest {

  private static final Path RULES = Path.of("../deploy/prometheus");

  record Run(int exit, String output) {}

  private static Run promtool(String... args) throws IOException, InterruptedException {
    return promtoolIn(RULES, args);
  }

  private static Run promtoolIn(Path dir, String... args) throws IOException, InterruptedException {
    List<String> command = new java.util.ArrayList<>(List.of("promtool"));
    command.addAll(List.of(args));
    Process process;
    try {
      process =
          new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
    } catch (IOException e) {
      throw new AssertionError(
          "promtool not found (Debian's prometheus package has it): run make deps", e);
    }
    assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("promtool finished").isTrue();
    return new Run(
        process.exitValue(),
        new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
  }

  @Test
  void theRulesAreValid() throws Exception {
    Run check = promtool("check", "rules", "alerts.yml");
    assertThat(check.exit()).as(check.output()).isZero();
    assertThat(check.output()).contains("SUCCESS: 16 rules found");
  }

  @Test
  void eachAlertFiresWhereItShouldAndNowhereElse() throws Exception {
    Run test = promtool("test", "rules", "alerts.test.yml");
    assertThat(test.exit()).as(test.output()).isZero();
  }

  @Test
  void aWrongExpectationFails() throws Exception {
    // The unit tests can fail: the same file expecting the wrong lane does.
    Path wrong = RULES.resolve("target-wrong.test.yml");
    Files.writeString(
        wrong, Files.readString(RULES.resolve("alerts.test.yml")).replace("lane: p0", "lane: p2"));
    try {
      Run test = promtool("test", "rules", wrong.getFileName().toString());
      assertThat(test.exit()).isNotZero();
      assertThat(test.output()).contains("FAILED", "TallyLatencyOverSlo");
    } finally {
      Files.deleteIfExists(wrong);
    }
  }
}
