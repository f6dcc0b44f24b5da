package dev.tally.common.generator;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tally.common.events.EventCodec;
import dev.tally.common.events.EventDecodingException;
import dev.tally.common.kafka.EventProducer;
import dev.tally.common.kafka.EventTopics;
import dev.tally.common.kafka.TopicApplier;
import dev.tally.events.Event;
import dev.tally.events.EventType;
import dev.tally.testing.KafkaBroker;
import dev.tally.testing.KafkaExtension;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(KafkaExtension.class)
class LoadRunnerIT {

  private static final long RECORDS = 30_000;

  @Test
  void summaryMatchesWhatAConsumerReadsBack(KafkaBroker kafka) throws Exception {
    String prefix = kafka.uniqueTopicName("load") + ".";
    new TopicApplier(kafka.admin()).apply(EventTopics.specs(prefix, (short) 1, 0));
    GeneratorOptions options =
        GeneratorOptions.defaults()
            .withRecords(RECORDS)
            .withTopicPrefix(prefix)
            .withFractions(0.05, 0.05, 0.01, 0.02);
    ByteArrayOutputStream progress = new ByteArrayOutputStream();

    LoadRunner.Result result;
    try (EventProducer producer =
        new EventProducer(kafka.bootstrapServers(), prefix, new Properties())) {
      result =
          new LoadRunner(
                  new LoadGenerator(options),
                  producer,
                  0,
                  new PrintStream(progress, true, StandardCharsets.UTF_8),
                  Duration.ofMillis(200))
              .run();
    }
    GeneratorSummary summary = result.summary();
    assertThat(result.acknowledged()).isEqualTo(RECORDS);
    assertThat(progress.toString(StandardCharsets.UTF_8))
        .contains("produce: 30,000/30,000 records (100.0%)");

    EventCodec codec = new EventCodec();
    Map<String, Long> perTopic = new HashMap<>();
    Set<String> ids = new HashSet<>();
    Map<EventType, Long> distinctByType = new EnumMap<>(EventType.class);
    long duplicates = 0;
    long malformed = 0;
    for (ConsumerRecord<String, byte[]> record : readEverything(kafka, prefix)) {
      perTopic.merge(record.topic(), 1L, Long::sum);
      try {
        Event event = codec.decode(record.value());
        if (ids.add(event.getEventId())) {
          distinctByType.merge(event.getType(), 1L, Long::sum);
        } else {
          duplicates++;
        }
      } catch (EventDecodingException e) {
        malformed++;
      }
    }

    assertThat(malformed).isEqualTo(summary.malformed()).isPositive();
    assertThat(duplicates).isEqualTo(summary.duplicates()).isPositive();
    assertThat((long) ids.size()).isEqualTo(summary.distinctEvents());
    assertThat(distinctByType).isEqualTo(summary.eventsByType());
    assertThat(perTopic).isEqualTo(summary.byTopic());
  }

  private static List<ConsumerRecord<String, byte[]>> readEverything(
      KafkaBroker kafka, String prefix) {
    Properties props = kafka.clientProperties();
    props.put(ConsumerConfig.GROUP_ID_CONFIG, "read-" + prefix);
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "10000");
    List<ConsumerRecord<String, byte[]>> records = new java.util.ArrayList<>();
    try (KafkaConsumer<String, byte[]> consumer =
        new KafkaConsumer<>(props, new StringDeserializer(), new ByteArrayDeserializer())) {
      consumer.subscribe(
          java.util.regex.Pattern.compile(
              java.util.regex.Pattern.quote(prefix) + "events\\.p[0-9]"));
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (records.size() < RECORDS && System.nanoTime() < deadline) {
        consumer.poll(Duration.ofMillis(200)).forEach(records::add);
      }
      consumer.poll(Duration.ofMillis(500)).forEach(records::add);
    }
    assertThat(records).hasSize((int) RECORDS);
    return records;
  }
}
