package dev.tally.common.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tally.common.events.EventCodec;
import dev.tally.common.events.Lane;
import dev.tally.common.events.V1Events;
import dev.tally.events.CheckIn;
import dev.tally.events.DailyBonus;
import dev.tally.events.Event;
import dev.tally.events.EventType;
import dev.tally.events.Purchase;
import dev.tally.events.QrScan;
import dev.tally.events.TaskCompleted;
import dev.tally.testing.KafkaBroker;
import dev.tally.testing.KafkaExtension;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(KafkaExtension.class)
class EventProducerIT {

  private static final Instant T0 = Instant.parse("2026-03-01T10:00:00Z");
  private static final short SINGLE_BROKER = 1;

  private final EventCodec codec = new EventCodec();

  @Test
  void producedEventsDecodeToWhatWasSentInTheirLaneKeyedByUser(KafkaBroker kafka) throws Exception {
    String prefix = kafka.uniqueTopicName("produce") + ".";
    new TopicApplier(kafka.admin()).apply(EventTopics.specs(prefix, SINGLE_BROKER, 0));
    List<Event> sent = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      sent.add(event(i));
    }

    try (EventProducer producer =
        new EventProducer(kafka.bootstrapServers(), prefix, new Properties())) {
      sent.forEach(producer::send);
      producer.flush();
      assertThat(producer.acknowledged()).isEqualTo(sent.size());
    }

    List<ConsumerRecord<String, byte[]>> records = readAll(kafka, prefix, sent.size());
    Map<String, Event> byId = new HashMap<>();
    Map<String, Set<String>> partitionsPerUser = new HashMap<>();
    for (ConsumerRecord<String, byte[]> record : records) {
      Event event = codec.decode(record.value());
      byId.put(event.getEventId(), event);
      assertThat(record.topic()).isEqualTo(Lane.of(event.getType()).topic(prefix));
      assertThat(record.key()).isEqualTo(event.getUserId());
      partitionsPerUser
          .computeIfAbsent(event.getUserId(), u -> new HashSet<>())
          .add(record.topic() + "/" + record.partition());
    }
    assertThat(byId.values()).containsExactlyInAnyOrderElementsOf(sent);
    // Within a lane, one user's events share one partition, so they stay in order.
    partitionsPerUser.forEach(
        (user, partitions) ->
            assertThat(
                    partitions.stream().map(p -> p.substring(0, p.indexOf('/'))).distinct().count())
                .as("user %s: one partition per lane topic", user)
                .isEqualTo(partitions.size()));
  }

  @Test
  void eventWrittenByAVersionOneProducerIsReadThroughTheBroker(KafkaBroker kafka) throws Exception {
    String prefix = kafka.uniqueTopicName("v1") + ".";
    new TopicApplier(kafka.admin()).apply(EventTopics.specs(prefix, SINGLE_BROKER, 0));
    byte[] v1 = V1Events.checkIn("e-old", "user-7", "hunt-1", T0, "place-3");

    try (EventProducer producer =
        new EventProducer(kafka.bootstrapServers(), prefix, new Properties())) {
      producer.sendRaw(Lane.P0.topic(prefix), "user-7", v1).get();
    }

    Event read = codec.decode(readAll(kafka, prefix, 1).get(0).value());
    assertThat(read.getEventId()).isEqualTo("e-old");
    assertThat(read.getPayload()).isEqualTo(new CheckIn("place-3", null));
  }

  @Test
  void failedSendsAreSurfacedNotSwallowed(KafkaBroker kafka) {
    Properties quick = new Properties();
    quick.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "2000");
    quick.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "3000");
    quick.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "2000");
    EventProducer producer =
        new EventProducer(
            kafka.bootstrapServers(), "missing-" + kafka.uniqueTopicName("x") + ".", quick);

    var future = producer.send(event(1));

    assertThatThrownBy(future::join)
        .hasCauseInstanceOf(org.apache.kafka.common.errors.TimeoutException.class)
        .hasMessageContaining("not present in metadata");
    assertThat(producer.failed()).isEqualTo(1);
    assertThatThrownBy(producer::close)
        .isInstanceOf(EventProducer.EventProducerException.class)
        .hasMessageContaining("1 sends failed");
  }

  private static Event event(int i) {
    String user = "user-" + (i % 13);
    Instant at = T0.plusSeconds(i);
    return switch (i % 5) {
      case 0 ->
          new Event(
              "e-" + i,
              EventType.CHECKIN,
              user,
              "hunt-1",
              at,
              "p",
              new CheckIn("place-" + i, null));
      case 1 ->
          new Event(
              "e-" + i,
              EventType.QR_SCAN,
              user,
              "hunt-2",
              at,
              "p",
              new QrScan("qr-" + i, "place-1"));
      case 2 ->
          new Event(
              "e-" + i,
              EventType.TASK_COMPLETED,
              user,
              "hunt-1",
              at,
              "p",
              new TaskCompleted("task-" + i, i % 2 == 0 ? 5 : null));
      case 3 ->
          new Event(
              "e-" + i,
              EventType.PURCHASE,
              user,
              null,
              at,
              "p",
              new Purchase("order-" + i, 100L + i, "EUR"));
      default ->
          new Event(
              "e-" + i,
              EventType.DAILY_BONUS,
              user,
              null,
              at,
              "p",
              new DailyBonus(LocalDate.of(2026, 3, 1)));
    };
  }

  /** Reads every lane topic from the beginning until {@code expected} records arrived. */
  static List<ConsumerRecord<String, byte[]>> readAll(
      KafkaBroker kafka, String prefix, long expected) {
    Properties props = kafka.clientProperties();
    props.put(ConsumerConfig.GROUP_ID_CONFIG, "read-" + prefix);
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "5000");
    List<ConsumerRecord<String, byte[]>> records = new ArrayList<>();
    try (KafkaConsumer<String, byte[]> consumer =
        new KafkaConsumer<>(props, new StringDeserializer(), new ByteArrayDeserializer())) {
      consumer.subscribe(
          List.of(Lane.P0.topic(prefix), Lane.P1.topic(prefix), Lane.P2.topic(prefix)));
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (records.size() < expected && System.nanoTime() < deadline) {
        consumer.poll(Duration.ofMillis(200)).forEach(records::add);
      }
      // Anything beyond the expected count would be a bug too: poll once more.
      consumer.poll(Duration.ofMillis(500)).forEach(records::add);
    }
    assertThat(records).hasSize((int) expected);
    return records;
  }
}
