package dev.tally.jobs.projection;

import dev.tally.common.generator.GeneratedRecord;
import dev.tally.common.generator.GeneratorOptions;
import dev.tally.common.generator.LoadGenerator;
import dev.tally.common.kafka.EventProducer;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Generated records as sent to the real broker, each with the partition and offset it got: the
 * input of a projection test and of the expected fold it is checked against.
 */
final class ProducedLog {

  /** One record and where it landed. */
  record Sent(GeneratedRecord record, String topic, int partition, long offset) {}

  private final List<Sent> sent = new ArrayList<>();

  List<Sent> records() {
    return sent;
  }

  /** Generates and sends every record of {@code options}, waiting for every acknowledgement. */
  ProducedLog send(String bootstrapServers, GeneratorOptions options) {
    return send(bootstrapServers, options, 0);
  }

  /**
   * As {@link #send(String, GeneratorOptions)}, at most {@code ratePerSecond} (0 = unthrottled).
   */
  ProducedLog send(String bootstrapServers, GeneratorOptions options, double ratePerSecond) {
    return send(bootstrapServers, new Properties(), options, ratePerSecond);
  }

  /** As above, with producer settings (e.g. a TLS broker's security properties). */
  ProducedLog send(
      String bootstrapServers,
      Properties producerSettings,
      GeneratorOptions options,
      double ratePerSecond) {
    List<GeneratedRecord> records = new ArrayList<>();
    List<CompletableFuture<RecordMetadata>> acks = new ArrayList<>();
    long start = System.nanoTime();
    try (EventProducer producer =
        new EventProducer(bootstrapServers, options.topicPrefix(), producerSettings)) {
      LoadGenerator generator = new LoadGenerator(options);
      while (generator.hasNext()) {
        GeneratedRecord record = generator.next();
        records.add(record);
        acks.add(producer.sendRaw(record.topic(), record.key(), record.value()));
        if (ratePerSecond > 0) {
          long due = start + (long) (records.size() * 1e9 / ratePerSecond);
          long wait = due - System.nanoTime();
          if (wait > 1_000_000) {
            try {
              Thread.sleep(wait / 1_000_000);
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
              throw new IllegalStateException(e);
            }
          }
        }
      }
    }
    for (int i = 0; i < records.size(); i++) {
      RecordMetadata metadata = acks.get(i).join();
      sent.add(new Sent(records.get(i), metadata.topic(), metadata.partition(), metadata.offset()));
    }
    return this;
  }

  /**
   * Generates every record of {@code options} and sends it, whatever its key, to {@code partition}
   * of its topic: the other partitions stay empty.
   */
  ProducedLog sendToPartition(String bootstrapServers, GeneratorOptions options, int partition) {
    Properties properties = new Properties();
    properties.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    properties.put(ProducerConfig.ACKS_CONFIG, "all");
    List<GeneratedRecord> records = new ArrayList<>();
    List<java.util.concurrent.Future<RecordMetadata>> acks = new ArrayList<>();
    try (KafkaProducer<String, byte[]> producer =
        new KafkaProducer<>(properties, new StringSerializer(), new ByteArraySerializer())) {
      LoadGenerator generator = new LoadGenerator(options);
      while (generator.hasNext()) {
        GeneratedRecord record = generator.next();
        records.add(record);
        acks.add(
            producer.send(
                new ProducerRecord<>(record.topic(), partition, record.key(), record.value())));
      }
    }
    for (int i = 0; i < records.size(); i++) {
      RecordMetadata metadata;
      try {
        metadata = acks.get(i).get();
      } catch (Exception e) {
        throw new IllegalStateException("sending record " + i + " failed", e);
      }
      sent.add(new Sent(records.get(i), metadata.topic(), metadata.partition(), metadata.offset()));
    }
    return this;
  }

  /** Sends records already sent once again, byte for byte (a producer re-sending them). */
  ProducedLog sendAgain(String bootstrapServers, String topicPrefix, List<Sent> originals) {
    List<CompletableFuture<RecordMetadata>> acks = new ArrayList<>();
    try (EventProducer producer =
        new EventProducer(bootstrapServers, topicPrefix, new Properties())) {
      for (Sent original : originals) {
        GeneratedRecord record = original.record();
        acks.add(producer.sendRaw(record.topic(), record.key(), record.value()));
      }
    }
    for (int i = 0; i < originals.size(); i++) {
      RecordMetadata metadata = acks.get(i).join();
      sent.add(
          new Sent(
              originals.get(i).record(),
              metadata.topic(),
              metadata.partition(),
              metadata.offset()));
    }
    return this;
  }
}
