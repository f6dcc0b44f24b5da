package dev.tally.jobs.decode;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.junit.jupiter.api.Test;

/** The dead-letter record as readers of the dead-letter topic see it (docs/events.md). */
class DeadLetterSerializerTest {

  private static Map<String, String> headers(ProducerRecord<byte[], byte[]> record) {
    Map<String, String> headers = new LinkedHashMap<>();
    for (Header header : record.headers()) {
      headers.put(header.key(), new String(header.value(), StandardCharsets.UTF_8));
    }
    return headers;
  }

  @Test
  void keyAndValueStayByteForByteAndTheHeadersSayWhyAndWhereFrom() {
    byte[] key = "user-7".getBytes(StandardCharsets.UTF_8);
    byte[] value = {0, (byte) 0xff, 42, 0, 7};
    DeadLetter letter =
        new DeadLetter("corrupt", "Avro: unexpected end", "events.p1", 3, 1234L, 1700L, key, value);

    ProducerRecord<byte[], byte[]> record =
        new DeadLetterSerializer("events.dead-letter").serialize(letter, null, 99L);

    assertThat(record.topic()).isEqualTo("events.dead-letter");
    assertThat(record.key()).isEqualTo(key);
    assertThat(record.value()).isEqualTo(value);
    assertThat(record.partition()).as("partitioned by key, like the lane").isNull();
    assertThat(record.timestamp()).as("the topic stamps its append time").isNull();
    assertThat(headers(record))
        .containsExactly(
            Map.entry(DeadLetterSerializer.REASON, "corrupt"),
            Map.entry(DeadLetterSerializer.ERROR, "Avro: unexpected end"),
            Map.entry(DeadLetterSerializer.SOURCE_TOPIC, "events.p1"),
            Map.entry(DeadLetterSerializer.SOURCE_PARTITION, "3"),
            Map.entry(DeadLetterSerializer.SOURCE_OFFSET, "1234"),
            Map.entry(DeadLetterSerializer.SOURCE_TIMESTAMP, "1700"));
  }

  @Test
  void aRecordWithoutKeyOrErrorTextKeepsItsNullKeyAndAnEmptyError() {
    DeadLetter letter = new DeadLetter("late", null, "events.p2", 0, 5L, 6L, null, new byte[] {1});

    ProducerRecord<byte[], byte[]> record =
        new DeadLetterSerializer("dl").serialize(letter, null, null);

    assertThat(record.key()).isNull();
    assertThat(headers(record))
        .containsEntry(DeadLetterSerializer.REASON, "late")
        .containsEntry(DeadLetterSerializer.ERROR, "");
  }
}
