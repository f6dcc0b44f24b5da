package dev.tally.jobs.projection;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tally.common.verify.LogFold;
import dev.tally.common.views.ValkeyEndpoint;
import dev.tally.testing.FlinkMiniCluster;
import dev.tally.testing.KafkaBroker;
import dev.tally.testing.PostgresServer;
import dev.tally.testing.TlsMaterial;
import dev.tally.testing.ValkeyServer;
import io.valkey.UnifiedJedis;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The whole job against a broker, a Valkey and a PostgreSQL that speak TLS only, each presenting a
 * certificate of a throw-away CA: its lane sources, its topic check, its dead-letter producer, its
 * Valkey writers and cache warden, its PostgreSQL writers all connect with TLS and verify the
 * server (the CA given as a PEM file, the host name checked), and the views and dead letters are
 * what a fold of the log says. Each server refuses a plain connection, so nothing here could have
 * passed without TLS.
 */
class ProjectionTlsIT {

  @RegisterExtension static final MiniClusterExtension FLINK = FlinkMiniCluster.extension();

  private static TlsMaterial tls;
  private static KafkaBroker kafka;
  private static ValkeyServer valkey;
  private static PostgresServer postgres;

  @BeforeAll
  static void startTlsServers() {
    tls = TlsMaterial.generate();
    kafka = KafkaBroker.start(tls);
    valkey = ValkeyServer.startTls(tls);
    postgres = PostgresServer.start(tls);
  }

  @AfterAll
  static void stopTlsServers() throws Exception {
    for (AutoCloseable server : new AutoCloseable[] {postgres, valkey, kafka}) {
      if (server != null) {
        server.close();
      }
    }
  }

  @Test
  @Timeout(300)
  void theJobReadsWritesAndDeadLettersOverTlsOnly() throws Exception {
    ProjectionTestSetup setup =
        new ProjectionTestSetup("tls", kafka, valkey, postgres, Duration.ofSeconds(2));
    assertThat(setup.config.stores().valkey().tls()).isTrue();
    assertThat(setup.config.stores().valkey().trustedCertificates()).contains("BEGIN CERTIFICATE");
    assertThat(setup.config.stores().jdbcUrl()).contains("sslmode=verify-full");
    assertThat(setup.config.sources().kafkaProperties()).containsEntry("security.protocol", "SSL");

    ProducedLog log =
        new ProducedLog()
            .send(kafka.bootstrapServers(), kafka.securityProperties(), setup.warmUp(), 0)
            .send(
                kafka.bootstrapServers(),
                kafka.securityProperties(),
                setup.load(20_000, 0.05, 0.05, 0.01, 0.02),
                0);
    ExpectedViews expected = ExpectedViews.fold(log.records());
    assertThat(expected.deadLetters)
        .as("malformed and late records to dead-letter")
        .hasSizeGreaterThan(300);

    JobClient job =
        ProjectionTestSetup.job(setup.config, OffsetsInitializer.latest()).executeAsync("tls");
    FlinkMiniCluster.awaitCompletion(job, Duration.ofMinutes(4));

    ServedViews.assertAllEqual(setup, expected);
    Map<String, String> deadLetters = ServedViews.deadLetters(kafka, setup.deadLetterTopic());
    assertThat(deadLetters.keySet()).isEqualTo(expected.deadLetters);

    // tally verify's fold, reading the log over TLS with the same properties.
    LogFold.Result fold = setup.foldTheLog();
    assertThat(fold.views()).isEqualTo(expected.byView());
    assertThat(fold.deadLetters()).isEqualTo(deadLetters);
  }

  @Test
  void eachServerRefusesAPlainOrUntrustedConnection() {
    // Valkey: the TLS port does not speak plain RESP; TLS without the CA fails the chain check.
    ValkeyEndpoint plain = ValkeyEndpoint.parse("redis://127.0.0.1:" + valkey.port(), false, null);
    ValkeyEndpoint untrusted = ValkeyEndpoint.parse(valkey.uri(), false, null);
    ValkeyEndpoint trusted = untrusted.withCaFile(tls.caCertificate().toString());
    assertThatThrownBy(() -> ping(plain)).isInstanceOf(RuntimeException.class);
    assertThatThrownBy(() -> ping(untrusted)).hasStackTraceContaining("PKIX path building failed");
    assertThat(ping(trusted)).isEqualTo("PONG");
    // The server listens on 127.0.0.2 as well, which its certificate does not name: refused, as
    // the host name is checked (the chain alone would pass).
    ValkeyEndpoint otherName =
        ValkeyEndpoint.parse("rediss://127.0.0.2:" + valkey.port(), false, null)
            .withCaFile(tls.caCertificate().toString());
    assertThatThrownBy(() -> ping(otherName))
        .hasStackTraceContaining("No subject alternative names matching IP address 127.0.0.2");

    // PostgreSQL: pg_hba.conf rejects anything but hostssl.
    String base = "jdbc:postgresql://127.0.0.1:" + postgres.port() + "/" + PostgresServer.DATABASE;
    assertThatThrownBy(
            () -> DriverManager.getConnection(base + "?sslmode=disable", PostgresServer.USER, ""))
        .isInstanceOf(SQLException.class)
        .hasMessageContaining("no encryption");

    // Kafka: a plaintext client never completes a request against the TLS listener.
    Properties plainKafka = new Properties();
    plainKafka.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
    plainKafka.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "3000");
    plainKafka.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "2000");
    try (Admin admin = Admin.create(plainKafka)) {
      assertThatThrownBy(() -> admin.describeCluster().nodes().get(10, TimeUnit.SECONDS))
          .hasStackTraceContaining("Timeout");
    }
  }

  private static String ping(ValkeyEndpoint endpoint) {
    try (UnifiedJedis jedis = endpoint.connect()) {
      return jedis.ping();
    }
  }
}
