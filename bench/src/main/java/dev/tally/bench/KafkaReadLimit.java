package dev.tally.bench;

import dev.tally.common.events.EventCodec;
import dev.tally.common.events.EventDecodingException;
import dev.tally.common.events.Lane;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * The machine's limit: one plain {@link KafkaConsumer} (no group, partitions assigned) reading
 * every lane topic from the beginning to the end offsets, without decoding, then once more decoding
 * every value with {@link EventCodec}.
 */
final class KafkaReadLimit {

  /** One read: records, bytes, seconds. */
  record Read(long records, long bytes, double seconds, long undecodable) {
    double recordsPerSecond() {
      return records / seconds;
    }
  }

  private final String bootstrapServers;

  KafkaReadLimit(String bootstrapServers) {
    this.bootstrapServers = bootstrapServers;
  }

  Read read(boolean decode) {
    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "10000");
    props.put(ConsumerConfig.CLIENT_ID_CONFIG, "tally-bench-read-limit");
    EventCodec codec = new EventCodec();
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> partitions = new ArrayList<>();
      for (Lane lane : Lane.values()) {
        for (PartitionInfo info : consumer.partitionsFor(lane.topic(""))) {
          partitions.add(new TopicPartition(info.topic(), info.partition()));
        }
      }
      consumer.assign(partitions);
      Map<TopicPartition, Long> ends = consumer.endOffsets(partitions);
      long target = 0;
      Map<TopicPartition, Long> begins = consumer.beginningOffsets(partitions);
      for (TopicPartition partition : partitions) {
        target += ends.get(partition) - begins.get(partition);
      }
      consumer.seekToBeginning(partitions);
      long records = 0;
      long bytes = 0;
      long undecodable = 0;
      long start = System.nanoTime();
      while (records < target) {
        ConsumerRecords<byte[], byte[]> batch = consumer.poll(Duration.ofMillis(500));
        for (ConsumerRecord<byte[], byte[]> record : batch) {
          records++;
          bytes += record.serializedValueSize();
          if (decode) {
            try {
              codec.decode(record.value());
            } catch (EventDecodingException e) {
              undecodable++;
            }
          }
        }
        if (batch.isEmpty() && System.nanoTime() - start > Duration.ofMinutes(5).toNanos()) {
          throw new IllegalStateException(
              "read only " + records + " of " + target + " records in 5 minutes");
        }
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      return new Read(records, bytes, seconds, undecodable);
    }
  }
}
