package dev.tally.common.flink;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class JobArgumentsTest {

  @Test
  void secretKafkaPropertiesArePublishedRedactedInEitherForm() {
    JobArguments args =
        new JobArguments(
            List.of(
                "--bootstrap-servers",
                "k:9092",
                "--kafka-property",
                "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required"
                    + " username=\"u\" password=\"hunter2\";",
                "--kafka-property=ssl.truststore.password=hunter3",
                "--kafka-property",
                "max.partition.fetch.bytes=16384",
                "--kafka-property",
                "SSL.KEYSTORE.KEY=-----BEGIN PRIVATE KEY-----",
                "--kafka-properties-file",
                "/etc/tally/kafka.properties"));

    JobArguments published = args.redacted();

    assertThat(String.join(" ", published.list()))
        .doesNotContain("hunter2", "hunter3", "BEGIN PRIVATE KEY")
        .contains(
            "sasl.jaas.config=<redacted>",
            "--kafka-property=ssl.truststore.password=<redacted>",
            "max.partition.fetch.bytes=16384",
            "--kafka-properties-file /etc/tally/kafka.properties");
    assertThat(published.redactedKeys())
        .containsExactly("sasl.jaas.config", "ssl.truststore.password", "SSL.KEYSTORE.KEY");
    assertThat(args.redactedKeys()).as("the original holds the values").isEmpty();
    assertThat(published.toParameters().get(JobArguments.KEY)).doesNotContain("hunter");
  }

  @Test
  void aValkeyPasswordInTheUrlIsRedactedToo() {
    JobArguments published =
        new JobArguments(List.of("--valkey", "redis://tally-job:hunter9@v1:6379")).redacted();
    assertThat(published.list())
        .containsExactly("--valkey", "redis://tally-job:<redacted>@v1:6379");
    assertThat(published.redactedKeys()).containsExactly("--valkey password");
    assertThat(new JobArguments(List.of("--valkey=redis://v1:6379")).redacted().redactedKeys())
        .isEmpty();
  }

  @Test
  void whatIsASecretKey() {
    assertThat(JobArguments.isSecretKey("sasl.jaas.config")).isTrue();
    assertThat(JobArguments.isSecretKey("ssl.key.password")).isTrue();
    assertThat(JobArguments.isSecretKey("sasl.oauthbearer.client.credentials.client.secret"))
        .isTrue();
    assertThat(JobArguments.isSecretKey("basic.auth.user.info")).isTrue();
    assertThat(JobArguments.isSecretKey("security.protocol")).isFalse();
    assertThat(JobArguments.isSecretKey("ssl.truststore.location")).isFalse();
    assertThat(JobArguments.isSecretKey("max.partition.fetch.bytes")).isFalse();
  }
}
