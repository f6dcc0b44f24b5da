package dev.tally.cli;

import dev.tally.common.kafka.EventTopics;
import dev.tally.common.kafka.TopicApplier;
import dev.tally.common.kafka.TopicSpec;
import java.io.PrintWriter;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.config.TopicConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code tally topics apply|describe}: the event log's topics. */
@Command(
    name = "topics",
    mixinStandardHelpOptions = true,
    description =
        "Create, update and inspect the event log's topics (one per lane, plus dead-letter).",
    subcommands = {TopicsCommand.Apply.class, TopicsCommand.Describe.class})
final class TopicsCommand {

  @Command(
      name = "apply",
      mixinStandardHelpOptions = true,
      description = {
        "Create or update the lane and dead-letter topics, idempotently: a second run changes nothing.",
        "Refuses (exit 1, nothing changed) when a topic's cleanup.policy includes compact."
      })
  static final class Apply implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin KafkaOptions kafka;

    @Option(
        names = "--replication-factor",
        defaultValue = "auto",
        description =
            "Replicas per partition, or 'auto' = min(3, brokers) (default: ${DEFAULT-VALUE}).")
    String replication;

    @Option(
        names = "--partitions",
        defaultValue = "0",
        description =
            "Partitions for every topic; 0 keeps the declared ones: p0 6, p1 4, p2 2, dead-letter 2 (default: ${DEFAULT-VALUE}).")
    int partitions;

    @Override
    public Integer call() throws Exception {
      if (partitions < 0) {
        throw new ParameterException(
            spec.commandLine(), "--partitions must be >= 0 (0 = declared), got " + partitions);
      }
      PrintWriter out = spec.commandLine().getOut();
      try (Admin admin = Admin.create(kafka.adminProperties())) {
        short factor = replicationFactor(admin);
        List<TopicSpec> specs = EventTopics.specs(kafka.topicPrefix, factor, partitions);
        for (TopicApplier.Change change : new TopicApplier(admin).apply(specs)) {
          out.printf(
              "%-9s %s%s%n",
              change.action().name().toLowerCase(),
              change.topic(),
              change.details().isEmpty() ? "" : ": " + String.join("; ", change.details()));
        }
      }
      out.flush();
      return 0;
    }

    private short replicationFactor(Admin admin) throws Exception {
      if (!"auto".equals(replication)) {
        try {
          short value = Short.parseShort(replication);
          if (value < 1) {
            throw new NumberFormatException();
          }
          return value;
        } catch (NumberFormatException e) {
          throw new ParameterException(
              spec.commandLine(),
              "--replication-factor must be a positive number or 'auto', got '"
                  + replication
                  + "'");
        }
      }
      int brokers = admin.describeCluster().nodes().get(30, TimeUnit.SECONDS).size();
      return (short) Math.max(1, Math.min(3, brokers));
    }
  }

  @Command(
      name = "describe",
      mixinStandardHelpOptions = true,
      description =
          "Show each event-log topic as it is on the cluster: partitions, replication, retention, cleanup policy.")
  static final class Describe implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin KafkaOptions kafka;

    @Option(
        names = "--partitions",
        description =
            "Also list every partition: its leader, replicas and in-sync replicas, marking those"
                + " with no leader (OFFLINE), fewer in-sync replicas than min.insync.replicas"
                + " (capped at the replication factor, as the broker does)"
                + " (UNDER-MIN-ISR: acks=all writes are refused) or than replicas (UNDER-REPLICATED).")
    boolean partitions;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      boolean allGood = true;
      try (Admin admin = Admin.create(kafka.adminProperties())) {
        List<String> names =
            EventTopics.specs(kafka.topicPrefix, (short) 1, 0).stream()
                .map(TopicSpec::name)
                .toList();
        out.printf(
            "%-32s %-10s %-11s %-14s %-14s %-14s %s%n",
            "TOPIC",
            "PARTITIONS",
            "REPLICATION",
            "CLEANUP",
            "RETENTION.MS",
            "TIMESTAMPS",
            "STATUS");
        for (TopicApplier.State state : new TopicApplier(admin).describe(names).values()) {
          if (!state.exists()) {
            out.printf(
                "%-32s %-10s %-11s %-14s %-14s %-14s %s%n",
                state.topic(), "-", "-", "-", "-", "-", "missing: run tally topics apply");
            allGood = false;
            continue;
          }
          Map<String, String> configs = state.configs();
          String policy = configs.getOrDefault(TopicConfig.CLEANUP_POLICY_CONFIG, "?");
          boolean compacted = policy.contains(TopicConfig.CLEANUP_POLICY_COMPACT);
          allGood &= !compacted;
          out.printf(
              "%-32s %-10d %-11d %-14s %-14s %-14s %s%n",
              state.topic(),
              state.partitions(),
              state.replicationFactor(),
              policy,
              configs.getOrDefault(TopicConfig.RETENTION_MS_CONFIG, "?"),
              configs.getOrDefault(TopicConfig.MESSAGE_TIMESTAMP_TYPE_CONFIG, "?"),
              compacted ? "REFUSED: compacted topics drop events" : "ok");
        }
        if (partitions) {
          describePartitions(admin, names, out);
        }
      }
      out.flush();
      return allGood ? 0 : 1;
    }

    private static void describePartitions(Admin admin, List<String> names, PrintWriter out) {
      Map<String, org.apache.kafka.clients.admin.TopicDescription> descriptions;
      Map<String, String> minIsr = new java.util.HashMap<>();
      try {
        descriptions = new java.util.LinkedHashMap<>();
        for (var entry : admin.describeTopics(names).topicNameValues().entrySet()) {
          try {
            descriptions.put(entry.getKey(), entry.getValue().get(30, TimeUnit.SECONDS));
          } catch (java.util.concurrent.ExecutionException missing) {
            // a missing topic is already reported above
          }
        }
        List<org.apache.kafka.common.config.ConfigResource> resources =
            descriptions.keySet().stream()
                .map(
                    t ->
                        new org.apache.kafka.common.config.ConfigResource(
                            org.apache.kafka.common.config.ConfigResource.Type.TOPIC, t))
                .toList();
        admin
            .describeConfigs(resources)
            .all()
            .get(30, TimeUnit.SECONDS)
            .forEach(
                (resource, config) -> {
                  var entry = config.get(TopicConfig.MIN_IN_SYNC_REPLICAS_CONFIG);
                  minIsr.put(resource.name(), entry == null ? "1" : entry.value());
                });
      } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
        throw new IllegalStateException("cannot describe the partitions: " + e.getMessage(), e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while describing the partitions", e);
      }
      out.println();
      out.printf("%-36s %-8s %-14s %-14s %s%n", "PARTITION", "LEADER", "REPLICAS", "ISR", "STATUS");
      for (String topic : names) {
        var description = descriptions.get(topic);
        if (description == null) {
          continue;
        }
        int required = Integer.parseInt(minIsr.getOrDefault(topic, "1"));
        for (var partition : description.partitions()) {
          int isr = partition.isr().size();
          // As the broker counts it: a min.insync.replicas above the replication factor is capped.
          int effective = Math.min(required, partition.replicas().size());
          String status =
              partition.leader() == null || partition.leader().isEmpty()
                  ? "OFFLINE"
                  : isr < effective
                      ? "UNDER-MIN-ISR"
                      : isr < partition.replicas().size() ? "UNDER-REPLICATED" : "ok";
          out.printf(
              "%-36s %-8s %-14s %-14s %s%n",
              topic + "-" + partition.partition(),
              partition.leader() == null || partition.leader().isEmpty()
                  ? "none"
                  : Integer.toString(partition.leader().id()),
              ids(partition.replicas()),
              ids(partition.isr()),
              status);
        }
      }
    }

    private static String ids(List<org.apache.kafka.common.Node> nodes) {
      return nodes.stream()
          .map(n -> Integer.toString(n.id()))
          .collect(java.util.stream.Collectors.joining(","));
    }
  }
}
