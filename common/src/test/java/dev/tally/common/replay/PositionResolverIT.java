package dev.tally.common.replay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tally.testing.KafkaBroker;
import dev.tally.testing.KafkaExtension;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Positions resolved against a real broker: per partition, with the errors an SRE would see. */
@ExtendWith(KafkaExtension.class)
class PositionResolverIT {

  private static final Instant NOW = Instant.parse("2026-06-01T00:00:00Z");

  private String topic;
  private PositionResolver resolver;
  private KafkaBroker kafka;

  /** Three partitions, record timestamps (ms): p0 = 1000, 2000, 3000; p1 = 1500, 2500; p2 = 500. */
  @BeforeEach
  void log(KafkaBroker kafka) throws Exception {
    this.kafka = kafka;
    topic = kafka.createTopic("positions", 3);
    Properties props = kafka.clientProperties();
    props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(props)) {
      for (long[] record :
          new long[][] {{0, 1000}, {0, 2000}, {0, 3000}, {1, 1500}, {1, 2500}, {2, 500}}) {
        producer.send(new ProducerRecord<>(topic, (int) record[0], record[1], "k", "v")).get();
      }
    }
    resolver = new PositionResolver(kafka.admin(), Clock.fixed(NOW, ZoneOffset.UTC));
  }

  private TopicPartition p(int partition) {
    return new TopicPartition(topic, partition);
  }

  @Test
  void timestampResolvesToTheFirstRecordAtOrAfterItPerPartition() {
    Map<TopicPartition, Long> offsets =
        resolver.resolve(Position.parse("timestamp:2000"), List.of(topic));
    // p0: 2000 is offset 1; p1: 2500 is offset 1; p2 has nothing at or after 2000: its end.
    assertThat(offsets).isEqualTo(Map.of(p(0), 1L, p(1), 1L, p(2), 1L));
    assertThat(
            resolver.resolve(Position.parse("timestamp:1970-01-01T00:00:01.600Z"), List.of(topic)))
        .isEqualTo(Map.of(p(0), 1L, p(1), 1L, p(2), 1L));
    assertThat(resolver.resolve(Position.parse("timestamp:1200"), List.of(topic)))
        .isEqualTo(Map.of(p(0), 1L, p(1), 0L, p(2), 1L));
  }

  @Test
  void earliestLatestGroupAndExplicitResolveAndABoundedRangeCountsItsEvents() throws Exception {
    assertThat(resolver.resolve(new Position.Earliest(), List.of(topic)))
        .isEqualTo(Map.of(p(0), 0L, p(1), 0L, p(2), 0L));
    assertThat(resolver.resolve(new Position.Latest(), List.of(topic)))
        .isEqualTo(Map.of(p(0), 3L, p(1), 2L, p(2), 1L));
    String group = topic + "-group";
    kafka
        .admin()
        .alterConsumerGroupOffsets(
            group,
            Map.of(
                p(0), new OffsetAndMetadata(2),
                p(1), new OffsetAndMetadata(1),
                p(2), new OffsetAndMetadata(0)))
        .all()
        .get();
    assertThat(resolver.resolve(Position.parse("group:" + group), List.of(topic)))
        .isEqualTo(Map.of(p(0), 2L, p(1), 1L, p(2), 0L));

    ReplayRange range =
        resolver.range(
            Position.parse("timestamp:2000"),
            Position.parse(topic + ":0:3," + topic + ":1:2," + topic + ":2:1"),
            List.of(topic));
    assertThat(range.bounded()).isTrue();
    assertThat(range.events()).isEqualTo(2 + 1 + 0);
    assertThat(range.startSpec()).isEqualTo(topic + ":0:1," + topic + ":1:1," + topic + ":2:1");
  }

  @Test
  void badPositionsAreRefusedNamingWhatIsWrong() {
    List<String> topics = List.of(topic);
    assertThatThrownBy(() -> resolver.resolve(new Position.Earliest(), List.of("no-such-topic")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("unknown topic");
    assertThatThrownBy(() -> resolver.resolve(Position.parse(topic + ":7:0"), topics))
        .hasMessageContaining(topic + ":7")
        .hasMessageContaining("has partitions 0..2");
    assertThatThrownBy(
            () ->
                resolver.resolve(
                    Position.parse(topic + ":0:9," + topic + ":1:0," + topic + ":2:0"), topics))
        .hasMessageContaining("offset 9 of " + topic + ":0 is outside the retained range 0..3");
    assertThatThrownBy(() -> resolver.resolve(Position.parse(topic + ":0:0"), topics))
        .hasMessageContaining("does not name " + topic + ":1, " + topic + ":2");
    assertThatThrownBy(() -> resolver.resolve(Position.parse("other:0:0"), topics))
        .hasMessageContaining("names topic 'other', which is not read here");
    assertThatThrownBy(
            () -> resolver.resolve(Position.parse("timestamp:2026-06-01T00:00:01Z"), topics))
        .hasMessageContaining("is in the future");
    assertThatThrownBy(() -> resolver.resolve(Position.parse("group:never-committed"), topics))
        .hasMessageContaining("no committed offset")
        .hasMessageContaining("unknown group");
    assertThatThrownBy(() -> resolver.range(new Position.Latest(), new Position.Earliest(), topics))
        .hasMessageContaining(
            "end position earliest is before the start latest on " + topic + ":0");
  }
}
