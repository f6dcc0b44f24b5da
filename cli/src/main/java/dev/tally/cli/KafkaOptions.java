package dev.tally.cli;

import java.util.Properties;
import org.apache.kafka.clients.admin.AdminClientConfig;
import picocli.CommandLine.Option;

/** Where the Kafka cluster is, shared by every command that talks to it. */
final class KafkaOptions {

  static final String BOOTSTRAP_ENV = "TALLY_BOOTSTRAP_SERVERS";

  @Option(
      names = {"-b", "--bootstrap-servers"},
      defaultValue = "${env:" + BOOTSTRAP_ENV + "}",
      description =
          "Kafka bootstrap servers, host:port[,host:port…] (default: $" + BOOTSTRAP_ENV + ").")
  String bootstrapServers;

  @Option(
      names = "--topic-prefix",
      defaultValue = "",
      description = "Prefix of every topic name, e.g. 'staging.' (default: none: events.p0 …).")
  String topicPrefix;

  String bootstrapServers() {
    if (bootstrapServers == null || bootstrapServers.isBlank()) {
      throw new IllegalArgumentException(
          "no Kafka cluster given: pass --bootstrap-servers host:port (the local stack's is 127.0.0.1:9092)"
              + " or set "
              + BOOTSTRAP_ENV);
    }
    return bootstrapServers;
  }

  Properties adminProperties() {
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
    props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "30000");
    props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
    return props;
  }
}
