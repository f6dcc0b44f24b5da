package dev.tally.common.kafka;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;

/**
 * Makes the cluster's topics match their {@link TopicSpec}s with Kafka's AdminClient, idempotently:
 * creates what is missing, adds partitions, sets the configs Tally owns, and reports what it did.
 * Running it twice changes nothing the second time. It never shrinks partitions, never changes
 * replication (that is a reassignment) and refuses compacted topics before changing anything.
 */
public final class TopicApplier {

  private static final Duration TIMEOUT = Duration.ofSeconds(60);

  /** What applying did to one topic. */
  public record Change(String topic, Action action, List<String> details) {}

  public enum Action {
    CREATED,
    UPDATED,
    UNCHANGED
  }

  /** A topic as it is on the cluster; {@code exists} is false when it is missing. */
  public record State(
      String topic,
      boolean exists,
      int partitions,
      int replicationFactor,
      Map<String, String> configs) {}

  private final Admin admin;

  public TopicApplier(Admin admin) {
    this.admin = admin;
  }

  /**
   * Applies the specs.
   *
   * @throws CompactedTopicException when an existing topic is compacted (nothing is changed then)
   */
  public List<Change> apply(List<TopicSpec> specs) {
    List<String> names = specs.stream().map(TopicSpec::name).toList();
    Map<String, State> current = describe(names);
    refuseCompacted(current);

    List<NewTopic> toCreate = new ArrayList<>();
    for (TopicSpec spec : specs) {
      if (!current.get(spec.name()).exists()) {
        toCreate.add(
            new NewTopic(spec.name(), spec.partitions(), spec.replicationFactor())
                .configs(spec.configs()));
      }
    }
    Set<String> created = create(toCreate);
    awaitLeaders(created);
    // A topic that appeared between describe and create (another applier, or metadata that had
    // not caught up) is treated like any existing topic: checked, then updated.
    List<String> raced =
        toCreate.stream().map(NewTopic::name).filter(name -> !created.contains(name)).toList();
    if (!raced.isEmpty()) {
      Map<String, State> appeared = awaitVisible(raced);
      refuseCompacted(appeared);
      current.putAll(appeared);
    }

    List<Change> changes = new ArrayList<>();
    for (TopicSpec spec : specs) {
      if (created.contains(spec.name())) {
        changes.add(
            new Change(
                spec.name(),
                Action.CREATED,
                List.of(
                    spec.partitions()
                        + " partitions, replication "
                        + spec.replicationFactor()
                        + ", "
                        + spec.configs())));
      } else {
        changes.add(update(spec, current.get(spec.name())));
      }
    }
    return changes;
  }

  /**
   * Refuses topics a job or producer must not use: missing ones (a job on them would restart in a
   * loop; Tally never creates topics implicitly, since partitions and retention are the lanes') and
   * compacted ones. Changes nothing.
   *
   * @throws CompactedTopicException when one is compacted
   * @throws IllegalStateException when one is missing
   */
  public void requireUsable(Collection<String> names) {
    Map<String, State> states = describe(names);
    refuseCompacted(states);
    List<String> missing =
        states.values().stream().filter(state -> !state.exists()).map(State::topic).toList();
    if (!missing.isEmpty()) {
      throw new IllegalStateException(
          (missing.size() == 1 ? "topic " : "topics ")
              + String.join(", ", missing)
              + (missing.size() == 1 ? " does" : " do")
              + " not exist; create the lane and dead-letter topics with: tally topics apply"
              + " (the same --topic-prefix)");
    }
  }

  private static void refuseCompacted(Map<String, State> states) {
    Map<String, String> compacted = new LinkedHashMap<>();
    states.values().stream()
        .filter(State::exists)
        .forEach(
            state -> {
              String policy = state.configs().getOrDefault(TopicConfig.CLEANUP_POLICY_CONFIG, "");
              if (policy.contains(TopicConfig.CLEANUP_POLICY_COMPACT)) {
                compacted.put(state.topic(), policy);
              }
            });
    if (!compacted.isEmpty()) {
      throw new CompactedTopicException(compacted);
    }
  }

  /** Creates the topics; returns the names created, leaving out those that already existed. */
  private Set<String> create(List<NewTopic> topics) {
    Set<String> created = new java.util.LinkedHashSet<>();
    if (topics.isEmpty()) {
      return created;
    }
    Map<String, KafkaFuture<Void>> results = admin.createTopics(topics).values();
    for (Map.Entry<String, KafkaFuture<Void>> result : results.entrySet()) {
      try {
        result.getValue().get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        created.add(result.getKey());
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof TopicExistsException)) {
          throw new IllegalStateException(
              "cannot create topic " + result.getKey() + ": " + e.getCause().getMessage(),
              e.getCause());
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while creating topics", e);
      } catch (TimeoutException e) {
        throw new IllegalStateException(
            "creating topic " + result.getKey() + " timed out after " + TIMEOUT, e);
      }
    }
    return created;
  }

  /**
   * Waits until every partition of the new topics has a leader the brokers agree on: producing to a
   * partition whose leader is still being elected can fail an idempotent producer's first batches
   * with an out-of-order sequence.
   */
  private void awaitLeaders(Set<String> topics) {
    if (topics.isEmpty()) {
      return;
    }
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    while (true) {
      try {
        Map<String, TopicDescription> descriptions =
            admin
                .describeTopics(topics)
                .allTopicNames()
                .get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        boolean ready =
            descriptions.size() == topics.size()
                && descriptions.values().stream()
                    .flatMap(d -> d.partitions().stream())
                    .allMatch(p -> p.leader() != null && !p.leader().isEmpty())
                && partitionsAnswer(descriptions);
        if (ready) {
          return;
        }
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof UnknownTopicOrPartitionException)) {
          throw new IllegalStateException(
              "cannot describe new topics " + topics + ": " + e.getCause().getMessage(),
              e.getCause());
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for topics " + topics, e);
      } catch (TimeoutException e) {
        throw new IllegalStateException("describing new topics " + topics + " timed out", e);
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(
            "topics " + topics + " have partitions without a leader after " + TIMEOUT);
      }
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for topics " + topics, e);
      }
    }
  }

  /** True when the leader of every partition answers a ListOffsets request. */
  private boolean partitionsAnswer(Map<String, TopicDescription> descriptions)
      throws InterruptedException {
    Map<org.apache.kafka.common.TopicPartition, org.apache.kafka.clients.admin.OffsetSpec> latest =
        new LinkedHashMap<>();
    descriptions.forEach(
        (topic, description) ->
            description
                .partitions()
                .forEach(
                    p ->
                        latest.put(
                            new org.apache.kafka.common.TopicPartition(topic, p.partition()),
                            org.apache.kafka.clients.admin.OffsetSpec.latest())));
    try {
      admin.listOffsets(latest).all().get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      return true;
    } catch (ExecutionException | TimeoutException notYet) {
      return false;
    }
  }

  private Map<String, State> awaitVisible(List<String> names) {
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    while (true) {
      Map<String, State> states = describe(names);
      if (states.values().stream().allMatch(State::exists) || System.nanoTime() > deadline) {
        return states;
      }
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for topics " + names, e);
      }
    }
  }

  private Change update(TopicSpec spec, State state) {
    List<String> details = new ArrayList<>();
    boolean changed = false;
    if (state.partitions() < spec.partitions()) {
      await(
          admin
              .createPartitions(Map.of(spec.name(), NewPartitions.increaseTo(spec.partitions())))
              .all(),
          "add partitions to " + spec.name());
      details.add("partitions " + state.partitions() + " -> " + spec.partitions());
      changed = true;
    } else if (state.partitions() > spec.partitions()) {
      details.add(
          "keeps "
              + state.partitions()
              + " partitions (declared "
              + spec.partitions()
              + "; Kafka cannot shrink a topic)");
    }
    if (state.replicationFactor() != spec.replicationFactor()) {
      details.add(
          "replication is "
              + state.replicationFactor()
              + " (declared "
              + spec.replicationFactor()
              + "; change it with a partition reassignment)");
    }
    List<AlterConfigOp> ops = new ArrayList<>();
    for (Map.Entry<String, String> wanted : spec.configs().entrySet()) {
      String actual = state.configs().get(wanted.getKey());
      if (!wanted.getValue().equals(actual)) {
        ops.add(
            new AlterConfigOp(
                new ConfigEntry(wanted.getKey(), wanted.getValue()), AlterConfigOp.OpType.SET));
        details.add(wanted.getKey() + " " + actual + " -> " + wanted.getValue());
      }
    }
    if (!ops.isEmpty()) {
      ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, spec.name());
      await(
          admin.incrementalAlterConfigs(Map.of(resource, ops)).all(),
          "alter configs of " + spec.name());
      changed = true;
    }
    return new Change(spec.name(), changed ? Action.UPDATED : Action.UNCHANGED, details);
  }

  /** The topics as they are now, in the order asked; missing ones have {@code exists == false}. */
  public Map<String, State> describe(Collection<String> names) {
    Map<String, KafkaFuture<TopicDescription>> futures =
        admin.describeTopics(names).topicNameValues();
    Map<String, TopicDescription> found = new LinkedHashMap<>();
    for (String name : names) {
      try {
        found.put(name, futures.get(name).get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS));
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof UnknownTopicOrPartitionException)) {
          throw new IllegalStateException(
              "cannot describe topic " + name + ": " + e.getCause().getMessage(), e.getCause());
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while describing topics", e);
      } catch (TimeoutException e) {
        throw new IllegalStateException(
            "describing topic " + name + " timed out after " + TIMEOUT, e);
      }
    }
    Map<String, Map<String, String>> configs = configs(found.keySet());
    Map<String, State> states = new LinkedHashMap<>();
    for (String name : names) {
      TopicDescription description = found.get(name);
      if (description == null) {
        states.put(name, new State(name, false, 0, 0, Map.of()));
      } else {
        states.put(
            name,
            new State(
                name,
                true,
                description.partitions().size(),
                description.partitions().get(0).replicas().size(),
                configs.get(name)));
      }
    }
    return states;
  }

  private Map<String, Map<String, String>> configs(Set<String> topics) {
    if (topics.isEmpty()) {
      return Map.of();
    }
    List<ConfigResource> resources =
        topics.stream().map(t -> new ConfigResource(ConfigResource.Type.TOPIC, t)).toList();
    Map<ConfigResource, Config> described =
        await(admin.describeConfigs(resources).all(), "describe topic configs");
    Map<String, Map<String, String>> result = new LinkedHashMap<>();
    described.forEach(
        (resource, config) ->
            result.put(
                resource.name(),
                config.entries().stream()
                    .filter(entry -> entry.value() != null)
                    .collect(
                        Collectors.toMap(
                            ConfigEntry::name,
                            ConfigEntry::value,
                            (a, b) -> a,
                            LinkedHashMap::new))));
    return result;
  }

  private static <T> T await(KafkaFuture<T> future, String what) {
    try {
      return future.get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      throw new IllegalStateException(
          "cannot " + what + ": " + e.getCause().getMessage(), e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted: " + what, e);
    } catch (TimeoutException e) {
      throw new IllegalStateException(what + " timed out after " + TIMEOUT, e);
    }
  }
}
