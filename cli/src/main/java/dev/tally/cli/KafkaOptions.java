package dev.tally.cli;

import java.util.Properties;
import org.apache.kafka.clients.admin.AdminClientConfig;
import picocli.CommandLine.Option;

/** Where the Kafka cluster is, shared by every command that talks to it. */
final class KafkaOptions {

  static final String BOOTSTRAP_ENV = dev.tally.common.Environment.BOOTSTRAP_SERVERS;

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

  static final String PROPERTIES_ENV = "TALLY_KAFKA_PROPERTIES";

  @Option(
      names = "--kafka-properties-file",
      defaultValue = "${env:" + PROPERTIES_ENV + "}",
      description =
          "Kafka client properties for a secured cluster (security.protocol, ssl.*, sasl.*), the"
              + " same file the projection job takes; used by every Kafka client of the command"
              + " (default: $"
              + PROPERTIES_ENV
              + ").")
  java.nio.file.Path propertiesFile;

  /** The properties file's entries (none without one); refused when it cannot be read. */
  Properties securityProperties() {
    Properties props = new Properties();
    if (propertiesFile != null) {
      try (var in = java.nio.file.Files.newBufferedReader(propertiesFile)) {
        props.load(in);
      } catch (java.io.IOException e) {
        throw new IllegalArgumentException(
            "--kafka-properties-file " + propertiesFile + " cannot be read: " + e);
      }
    }
    return props;
  }

  /** {@link #securityProperties()} as a map, for clients that take one. */
  java.util.Map<String, String> securityMap() {
    java.util.Map<String, String> map = new java.util.HashMap<>();
    Properties props = securityProperties();
    props.stringPropertyNames().forEach(key -> map.put(key, props.getProperty(key)));
    return map;
  }

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
    Properties props = securityProperties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
    // Defaults a properties file may change (a slow link, or a quick check).
    props.putIfAbsent(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "30000");
    props.putIfAbsent(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
    return props;
  }
}
