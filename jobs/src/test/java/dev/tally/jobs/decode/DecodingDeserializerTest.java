package dev.tally.jobs.decode;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tally.common.events.EventCodec;
import dev.tally.events.CheckIn;
import dev.tally.events.Event;
import dev.tally.events.EventType;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.apache.flink.api.common.functions.util.ListCollector;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.TimestampType;
import org.junit.jupiter.api.Test;

class DecodingDeserializerTest {

  private static final Instant APPENDED = Instant.parse("2026-06-01T12:00:00Z");

  private final DecodingDeserializer deserializer = new DecodingDeserializer(Duration.ofHours(1));

  @Test
  void anEventStampedWithinTheLeadOfItsAppendTimeIsDecoded() {
    SourceRecord out = decode(checkInAt(APPENDED.plus(Duration.ofHours(1))), APPENDED);
    assertThat(out.deadLetter).isNull();
    assertThat(out.event.occurredAt).isEqualTo(APPENDED.plus(Duration.ofHours(1)).toEpochMilli());
    assertThat(out.event.appendTime).isEqualTo(APPENDED.toEpochMilli());
  }

  @Test
  void anEventStampedFurtherAheadIsInvalidWithItsBytesKept() {
    Instant ahead = APPENDED.plus(Duration.ofHours(1)).plusMillis(1);
    byte[] value = new EventCodec().encode(checkInAt(ahead));
    SourceRecord out = decode(value, APPENDED);

    assertThat(out.event).isNull();
    assertThat(out.deadLetter.reason).isEqualTo("invalid");
    assertThat(out.deadLetter.error)
        .contains("occurred_at 2026-06-01T13:00:00.001Z is more than PT1H (--max-event-lead)")
        .contains("append time 2026-06-01T12:00:00Z");
    assertThat(out.deadLetter.value).isEqualTo(value);
    assertThat(out.deadLetter.sourceOffset).isEqualTo(7);
  }

  @Test
  void anEventTimeOutsideTheDocumentedRangeIsInvalidNotHalfApplied() throws Exception {
    Event event = checkInAt(Instant.ofEpochMilli(Long.MAX_VALUE));
    ByteBuffer buffer = Event.getEncoder().encode(event);
    byte[] value = new byte[buffer.remaining()];
    buffer.get(value);
    // Even with no lead limit to speak of: the range is the codec's own rule.
    SourceRecord out =
        decode(new DecodingDeserializer(Duration.ofMillis(Long.MAX_VALUE)), value, APPENDED);
    assertThat(out.event).isNull();
    assertThat(out.deadLetter.reason).isEqualTo("invalid");
    assertThat(out.deadLetter.error).contains("is outside 1970-01-01T00:00:00Z");
  }

  @Test
  void eventsLongBeforeTheirAppendTimeAreNotRefusedByTheLead() {
    SourceRecord out = decode(checkInAt(Instant.parse("2001-01-01T00:00:00Z")), APPENDED);
    assertThat(out.deadLetter).isNull();
  }

  @Test
  void bytesWithoutTheSingleObjectHeaderAreABadHeaderKeptByteForByte() {
    byte[] value = "not an avro event".getBytes(StandardCharsets.UTF_8);
    SourceRecord out = decode(value, APPENDED);
    assertThat(out.event).isNull();
    assertThat(out.deadLetter.reason).isEqualTo("bad-header");
    assertThat(out.deadLetter.value).isEqualTo(value);
    assertThat(out.deadLetter.key).isEqualTo("u-1".getBytes(StandardCharsets.UTF_8));
    assertThat(out.deadLetter.sourceTopic).isEqualTo("events.p0");
    assertThat(out.deadLetter.sourcePartition).isEqualTo(3);
    assertThat(out.deadLetter.sourceTimestamp).isEqualTo(APPENDED.toEpochMilli());
  }

  @Test
  void aSchemaFingerprintNoShippedVersionHasIsAnUnknownSchema() {
    byte[] value = new EventCodec().encode(checkInAt(APPENDED));
    // The header is 0xC3 0x01 and the writer schema's 8-byte fingerprint: change the fingerprint.
    for (int i = 2; i < 10; i++) {
      value[i] = (byte) ~value[i];
    }
    SourceRecord out = decode(value, APPENDED);
    assertThat(out.event).isNull();
    assertThat(out.deadLetter.reason).isEqualTo("unknown-schema");
    assertThat(out.deadLetter.error).contains("is not one of the shipped versions");
  }

  @Test
  void aBodyCutShortIsCorrupt() {
    byte[] whole = new EventCodec().encode(checkInAt(APPENDED));
    byte[] value = java.util.Arrays.copyOf(whole, 14);
    SourceRecord out = decode(value, APPENDED);
    assertThat(out.event).isNull();
    assertThat(out.deadLetter.reason).isEqualTo("corrupt");
    assertThat(out.deadLetter.value).isEqualTo(value);
  }

  private SourceRecord decode(Event event, Instant appendTime) {
    return decode(new EventCodec().encode(event), appendTime);
  }

  private SourceRecord decode(byte[] value, Instant appendTime) {
    return decode(deserializer, value, appendTime);
  }

  private static SourceRecord decode(
      DecodingDeserializer deserializer, byte[] value, Instant appendTime) {
    List<SourceRecord> out = new ArrayList<>();
    deserializer.deserialize(
        new ConsumerRecord<>(
            "events.p0",
            3,
            7,
            appendTime.toEpochMilli(),
            TimestampType.LOG_APPEND_TIME,
            4,
            value.length,
            "u-1".getBytes(StandardCharsets.UTF_8),
            value,
            new RecordHeaders(),
            Optional.empty()),
        new ListCollector<>(out));
    assertThat(out).hasSize(1);
    return out.get(0);
  }

  private static Event checkInAt(Instant occurredAt) {
    return new Event(
        "0190a6e2-0000-7000-8000-000000000001",
        EventType.CHECKIN,
        "u-1",
        "hunt-1",
        occurredAt,
        "test",
        new CheckIn("place-1", null));
  }
}
