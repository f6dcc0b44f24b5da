package dev.tally.testing;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;

/**
 * A real Kafka broker in KRaft mode (one combined broker+controller node) running inside the test
 * JVM. One per test JVM, shared through {@link KafkaExtension}; each test makes its own topics with
 * {@link #createTopic}.
 */
public final class KafkaBroker implements AutoCloseable {

  private static final AtomicInteger TOPIC_COUNTER = new AtomicInteger();

  private final KafkaClusterTestKit cluster;
  private final Properties security;
  private final Admin admin;

  private KafkaBroker(KafkaClusterTestKit cluster, Properties security) {
    this.cluster = cluster;
    this.security = security;
    this.admin = Admin.create(adminProperties(cluster.bootstrapServers(), security));
  }

  /** Formats and starts a single-node KRaft cluster with its logs under {@code target/}. */
  public static KafkaBroker start() {
    return start(null);
  }

  /**
   * As {@link #start()}, its clients' listener TLS only when {@code tls} is given: the broker
   * presents {@link TlsMaterial#serverPem()}, clients need {@link #securityProperties()}.
   */
  public static KafkaBroker start(TlsMaterial tls) {
    return launch(tls == null ? "kafka" : "kafka-tls", 1, tls);
  }

  /**
   * A cluster of {@code brokers} KRaft brokers (the first also the controller) in the test JVM:
   * internal topics and new topics replicated {@code brokers} times, {@code min.insync.replicas}
   * one less. For tests of a broker lost while clients run ({@link #stopBroker}); the test closes
   * it.
   */
  public static KafkaBroker startCluster(int brokers) {
    if (brokers < 2) {
      throw new IllegalArgumentException("a cluster needs at least 2 brokers, got " + brokers);
    }
    return launch("kafka-cluster", brokers, null);
  }

  private static KafkaBroker launch(String name, int brokers, TlsMaterial tls) {
    Path dir = TestDirs.newDirectory(name);
    // Internal and new topics on every broker; a write needs all but one of them.
    String replication = Integer.toString(brokers);
    String minIsr = Integer.toString(Math.max(1, brokers - 1));
    Properties security = new Properties();
    try {
      TestKitNodes nodes =
          new TestKitNodes.Builder()
              .setCombined(true)
              .setNumBrokerNodes(brokers)
              .setNumControllerNodes(1)
              .setBaseDirectory(dir)
              .build();
      KafkaClusterTestKit.Builder builder = new KafkaClusterTestKit.Builder(nodes);
      if (tls != null) {
        // The test kit itself takes only PLAINTEXT or SASL_PLAINTEXT listeners; its listener
        // settings can be given, though: the clients' (and inter-broker) listener speaks SSL.
        security.put("security.protocol", "SSL");
        security.put("ssl.truststore.type", "PEM");
        security.put("ssl.truststore.location", tls.caCertificate().toString());
        builder
            .setConfigProp(
                "listener.security.protocol.map",
                nodes.brokerListenerName().value()
                    + ":SSL,"
                    + nodes.controllerListenerName().value()
                    + ":PLAINTEXT")
            .setConfigProp("ssl.keystore.type", "PEM")
            .setConfigProp("ssl.keystore.location", tls.serverPem().toString())
            .setConfigProp("ssl.truststore.type", "PEM")
            .setConfigProp("ssl.truststore.location", tls.caCertificate().toString());
      }
      KafkaClusterTestKit cluster =
          builder
              .setConfigProp("offsets.topic.replication.factor", replication)
              .setConfigProp("transaction.state.log.replication.factor", replication)
              .setConfigProp("transaction.state.log.min.isr", minIsr)
              .setConfigProp("default.replication.factor", replication)
              .setConfigProp("min.insync.replicas", minIsr)
              .setConfigProp("group.initial.rebalance.delay.ms", "0")
              .setConfigProp("auto.create.topics.enable", "false")
              .setConfigProp("num.partitions", "1")
              .setDeleteOnClose(true)
              .build();
      cluster.format();
      cluster.startup();
      cluster.waitForReadyBrokers();
      return new KafkaBroker(cluster, security);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while starting Kafka under " + dir, e);
    } catch (Exception e) {
      throw new IllegalStateException("cannot start the in-JVM Kafka under " + dir, e);
    }
  }

  /** The ids of the brokers running now. */
  public java.util.Set<Integer> runningBrokers() {
    java.util.Set<Integer> running = new java.util.TreeSet<>();
    cluster
        .brokers()
        .forEach(
            (id, broker) -> {
              if (!broker.isShutdown()) {
                running.add(id);
              }
            });
    return running;
  }

  /**
   * Stops broker {@code id} (a broker-only node, not the controller) and leaves it down: its
   * partitions' leadership moves to the others, its replicas leave the in-sync sets.
   */
  public void stopBroker(int id) {
    if (cluster.controllers().containsKey(id)) {
      throw new IllegalArgumentException("broker " + id + " is also the controller; stop another");
    }
    cluster.brokers().get(id).shutdown();
  }

  /** The broker's {@code bootstrap.servers}. */
  public String bootstrapServers() {
    return cluster.bootstrapServers();
  }

  /** An admin client bound to this broker, owned by the fixture: do not close it. */
  public Admin admin() {
    return admin;
  }

  /** Properties every client of this broker needs (bootstrap servers, TLS settings). */
  public Properties clientProperties() {
    return adminProperties(bootstrapServers(), security);
  }

  /** The TLS client settings (security.protocol, trust store); empty for a plain broker. */
  public Properties securityProperties() {
    Properties copy = new Properties();
    copy.putAll(security);
    return copy;
  }

  /** A topic name no other test of this JVM uses. */
  public String uniqueTopicName(String prefix) {
    return prefix + "-" + TOPIC_COUNTER.incrementAndGet();
  }

  /** Creates a topic named after {@code prefix} (made unique in this JVM) and returns its name. */
  public String createTopic(String prefix, int partitions) {
    return createTopic(prefix, partitions, Map.of());
  }

  /** As {@link #createTopic(String, int)}, with topic configs. */
  public String createTopic(String prefix, int partitions, Map<String, String> configs) {
    String name = uniqueTopicName(prefix);
    try {
      admin
          .createTopics(List.of(new NewTopic(name, partitions, (short) 1).configs(configs)))
          .all()
          .get(30, TimeUnit.SECONDS);
      return name;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while creating topic " + name, e);
    } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
      throw new IllegalStateException("cannot create topic " + name, e);
    }
  }

  /**
   * Waits until the broker describes every one of {@code topics}: a topic just created can be
   * unknown to a describe for a moment (its metadata still on the way).
   */
  public void awaitTopics(java.util.Collection<String> topics) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (true) {
      try {
        admin.describeTopics(topics).allTopicNames().get(30, TimeUnit.SECONDS);
        return;
      } catch (ExecutionException e) {
        if (!(e.getCause()
                instanceof org.apache.kafka.common.errors.UnknownTopicOrPartitionException)
            || System.nanoTime() > deadline) {
          throw e;
        }
        Thread.sleep(100);
      }
    }
  }

  @Override
  public void close() throws Exception {
    admin.close();
    cluster.close();
  }

  private static Properties adminProperties(String bootstrapServers, Properties security) {
    Properties properties = new Properties();
    properties.putAll(security);
    properties.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    return properties;
  }
}
