package dev.tally.jobs.projection;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tally.common.kafka.CompactedTopicException;
import dev.tally.common.kafka.EventTopics;
import dev.tally.common.kafka.TopicApplier;
import dev.tally.common.kafka.TopicSpec;
import dev.tally.testing.KafkaBroker;
import dev.tally.testing.KafkaExtension;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.TopicConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The job refuses, at submission, topics it must not run on: missing ones (it would restart in a
 * loop) and a compacted lane topic (compaction drops events), against a real broker.
 */
@ExtendWith(KafkaExtension.class)
class ProjectionTopicsIT {

  private static ProjectionConfig config(KafkaBroker kafka, String prefix) {
    return ProjectionOptions.parse(
            new String[] {
              "--bootstrap-servers",
              kafka.bootstrapServers(),
              "--topic-prefix",
              prefix,
              "--valkey",
              "redis://127.0.0.1:1"
            },
            new PrintWriter(new StringWriter()))
        .orElseThrow();
  }

  @Test
  void missingTopicsAreRefusedNamingThemAndTheCommandThatCreatesThem(KafkaBroker kafka) {
    String prefix = kafka.uniqueTopicName("absent") + ".";
    assertThatThrownBy(() -> ProjectionJob.requireTopics(config(kafka, prefix)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("topics " + prefix + "events.p0, " + prefix + "events.p1")
        .hasMessageContaining(prefix + "events.dead-letter do not exist")
        .hasMessageContaining("tally topics apply");
  }

  @Test
  void aCompactedLaneTopicIsRefusedAndAllTopicsAppliedPass(KafkaBroker kafka) throws Exception {
    String prefix = kafka.uniqueTopicName("compacted") + ".";
    List<TopicSpec> specs = EventTopics.specs(prefix, (short) 1, 0);
    List<NewTopic> topics = new ArrayList<>();
    for (TopicSpec spec : specs) {
      Map<String, String> configs =
          spec.name().endsWith("events.p1")
              ? Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT)
              : Map.of();
      topics.add(new NewTopic(spec.name(), spec.partitions(), (short) 1).configs(configs));
    }
    kafka.admin().createTopics(topics).all().get();
    assertThatThrownBy(() -> ProjectionJob.requireTopics(config(kafka, prefix)))
        .isInstanceOf(CompactedTopicException.class)
        .hasMessageContaining("topic " + prefix + "events.p1 has cleanup.policy=compact");

    String applied = kafka.uniqueTopicName("applied") + ".";
    new TopicApplier(kafka.admin()).apply(EventTopics.specs(applied, (short) 1, 0));
    assertThatCode(() -> ProjectionJob.requireTopics(config(kafka, applied)))
        .doesNotThrowAnyException();
  }
}
