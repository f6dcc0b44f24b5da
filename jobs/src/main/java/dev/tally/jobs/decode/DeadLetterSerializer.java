package dev.tally.jobs.decode;

import java.nio.charset.StandardCharsets;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * Writes a dead letter to the dead-letter topic: the original key and value untouched, and why and
 * where from in headers ({@code tally.reason}, {@code tally.error}, {@code tally.source.topic},
 * {@code tally.source.partition}, {@code tally.source.offset}, {@code tally.source.timestamp}).
 * Readers dedupe on the source coordinates: after a restart a record can be dead-lettered twice.
 */
public final class DeadLetterSerializer implements KafkaRecordSerializationSchema<DeadLetter> {

  private static final long serialVersionUID = 1L;

  public static final String REASON = "tally.reason";
  public static final String ERROR = "tally.error";
  public static final String SOURCE_TOPIC = "tally.source.topic";
  public static final String SOURCE_PARTITION = "tally.source.partition";
  public static final String SOURCE_OFFSET = "tally.source.offset";
  public static final String SOURCE_TIMESTAMP = "tally.source.timestamp";

  private final String topic;

  public DeadLetterSerializer(String topic) {
    this.topic = topic;
  }

  @Override
  public ProducerRecord<byte[], byte[]> serialize(
      DeadLetter letter, KafkaSinkContext context, Long timestamp) {
    RecordHeaders headers = new RecordHeaders();
    headers.add(REASON, bytes(letter.reason));
    headers.add(ERROR, bytes(letter.error == null ? "" : letter.error));
    headers.add(SOURCE_TOPIC, bytes(letter.sourceTopic));
    headers.add(SOURCE_PARTITION, bytes(Integer.toString(letter.sourcePartition)));
    headers.add(SOURCE_OFFSET, bytes(Long.toString(letter.sourceOffset)));
    headers.add(SOURCE_TIMESTAMP, bytes(Long.toString(letter.sourceTimestamp)));
    return new ProducerRecord<>(topic, null, null, letter.key, letter.value, headers);
  }

  private static byte[] bytes(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }
}
