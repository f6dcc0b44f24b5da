package dev.tally.common.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tally.testing.KafkaBroker;
import dev.tally.testing.KafkaExtension;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(KafkaExtension.class)
class TopicApplierIT {

  private static final short SINGLE_BROKER = 1;

  @Test
  void applyCreatesEveryTopicThenIsANoOp(KafkaBroker kafka) {
    String prefix = kafka.uniqueTopicName("apply") + ".";
    TopicApplier applier = new TopicApplier(kafka.admin());
    List<TopicSpec> specs = EventTopics.specs(prefix, SINGLE_BROKER, 0);

    List<TopicApplier.Change> first = applier.apply(specs);
    List<TopicApplier.Change> second = applier.apply(specs);

    assertThat(first)
        .extracting(TopicApplier.Change::action)
        .containsOnly(TopicApplier.Action.CREATED)
        .hasSize(4);
    assertThat(second)
        .extracting(TopicApplier.Change::action)
        .containsOnly(TopicApplier.Action.UNCHANGED);
    assertThat(second).allSatisfy(change -> assertThat(change.details()).isEmpty());

    Map<String, TopicApplier.State> state =
        applier.describe(specs.stream().map(TopicSpec::name).toList());
    assertThat(state.get(prefix + "events.p0").partitions()).isEqualTo(6);
    assertThat(state.get(prefix + "events.p2").partitions()).isEqualTo(2);
    assertThat(state.get(prefix + EventTopics.DEAD_LETTER).exists()).isTrue();
    assertThat(state.values())
        .allSatisfy(
            topic -> {
              assertThat(topic.configs())
                  .containsEntry(TopicConfig.CLEANUP_POLICY_CONFIG, "delete");
              assertThat(topic.configs()).containsEntry(TopicConfig.RETENTION_MS_CONFIG, "-1");
              assertThat(topic.configs())
                  .containsEntry(TopicConfig.MESSAGE_TIMESTAMP_TYPE_CONFIG, "LogAppendTime");
            });
  }

  @Test
  void applyRestoresDriftedConfigsAndAddsPartitions(KafkaBroker kafka) throws Exception {
    String prefix = kafka.uniqueTopicName("drift") + ".";
    TopicApplier applier = new TopicApplier(kafka.admin());
    String p1 = prefix + "events.p1";
    kafka
        .admin()
        .createTopics(
            List.of(
                new NewTopic(p1, 1, SINGLE_BROKER)
                    .configs(Map.of(TopicConfig.RETENTION_MS_CONFIG, "604800000"))))
        .all()
        .get(30, TimeUnit.SECONDS);
    awaitConfig(new TopicApplier(kafka.admin()), p1, TopicConfig.RETENTION_MS_CONFIG, "604800000");

    TopicApplier.Change change =
        applier.apply(EventTopics.specs(prefix, SINGLE_BROKER, 0)).stream()
            .filter(c -> c.topic().equals(p1))
            .findFirst()
            .orElseThrow();

    assertThat(change.action()).isEqualTo(TopicApplier.Action.UPDATED);
    assertThat(change.details()).contains("partitions 1 -> 4", "retention.ms 604800000 -> -1");
    awaitConfig(applier, p1, TopicConfig.RETENTION_MS_CONFIG, "-1");
    TopicApplier.State after = applier.describe(List.of(p1)).get(p1);
    assertThat(after.partitions()).isEqualTo(4);
    assertThat(after.configs()).containsEntry(TopicConfig.RETENTION_MS_CONFIG, "-1");
    assertThat(applier.apply(EventTopics.specs(prefix, SINGLE_BROKER, 0)))
        .extracting(TopicApplier.Change::action)
        .containsOnly(TopicApplier.Action.UNCHANGED);
  }

  @Test
  void compactedTopicIsRefusedByNameAndSettingAndNothingIsChanged(KafkaBroker kafka)
      throws Exception {
    String prefix = kafka.uniqueTopicName("compacted") + ".";
    String p0 = prefix + "events.p0";
    kafka
        .admin()
        .createTopics(
            List.of(
                new NewTopic(p0, 6, SINGLE_BROKER)
                    .configs(Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, "compact,delete"))))
        .all()
        .get(30, TimeUnit.SECONDS);
    TopicApplier applier = new TopicApplier(kafka.admin());
    awaitConfig(applier, p0, TopicConfig.CLEANUP_POLICY_CONFIG, "compact,delete");
    List<TopicSpec> specs = EventTopics.specs(prefix, SINGLE_BROKER, 0);

    assertThatThrownBy(() -> applier.apply(specs))
        .isInstanceOf(CompactedTopicException.class)
        .hasMessageContaining("topic " + p0 + " has cleanup.policy=compact,delete")
        .hasMessageContaining("refuses compacted topics");

    Map<String, TopicApplier.State> state =
        applier.describe(specs.stream().map(TopicSpec::name).toList());
    assertThat(state.get(prefix + "events.p1").exists()).as("no other topic was created").isFalse();
    assertThat(state.get(p0).configs())
        .containsEntry(TopicConfig.CLEANUP_POLICY_CONFIG, "compact,delete");
  }

  @Test
  void topicCompactedAfterCreationIsRefusedOnTheNextApply(KafkaBroker kafka) throws Exception {
    String prefix = kafka.uniqueTopicName("later") + ".";
    TopicApplier applier = new TopicApplier(kafka.admin());
    List<TopicSpec> specs = EventTopics.specs(prefix, SINGLE_BROKER, 0);
    applier.apply(specs);
    String deadLetter = EventTopics.deadLetter(prefix);
    kafka
        .admin()
        .incrementalAlterConfigs(
            Map.of(
                new ConfigResource(ConfigResource.Type.TOPIC, deadLetter),
                List.of(
                    new AlterConfigOp(
                        new ConfigEntry(TopicConfig.CLEANUP_POLICY_CONFIG, "compact"),
                        AlterConfigOp.OpType.SET))))
        .all()
        .get(30, TimeUnit.SECONDS);

    awaitConfig(applier, deadLetter, TopicConfig.CLEANUP_POLICY_CONFIG, "compact");

    assertThatThrownBy(() -> applier.apply(specs))
        .isInstanceOfSatisfying(
            CompactedTopicException.class,
            e -> assertThat(e.policies()).containsExactly(Map.entry(deadLetter, "compact")));
  }

  /** Topic config changes reach the brokers' metadata asynchronously: wait until one is visible. */
  static void awaitConfig(TopicApplier applier, String topic, String key, String value)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
    while (System.nanoTime() < deadline) {
      TopicApplier.State state = applier.describe(List.of(topic)).get(topic);
      if (state.exists() && value.equals(state.configs().get(key))) {
        return;
      }
      Thread.sleep(100);
    }
    throw new AssertionError(topic + " never showed " + key + "=" + value);
  }
}
