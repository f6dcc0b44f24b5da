package dev.tally.common.events;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.entry;

import dev.tally.events.CheckIn;
import dev.tally.events.DailyBonus;
import dev.tally.events.Event;
import dev.tally.events.EventType;
import dev.tally.events.Purchase;
import dev.tally.events.QrScan;
import dev.tally.events.TaskCompleted;
import java.time.Instant;
import java.time.LocalDate;
import java.util.Arrays;
import java.util.List;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.junit.jupiter.api.Test;

class EventCodecTest {

  private static final Instant T0 = Instant.parse("2026-03-01T10:00:00Z");
  private static final String USER_1 = "user-1";
  private static final String HUNT_1 = "hunt-1";

  private final EventCodec codec = new EventCodec();

  static List<Event> oneOfEachType() {
    return List.of(
        new Event(
            "e-1", EventType.CHECKIN, USER_1, HUNT_1, T0, "p", new CheckIn("place-1", "device-9")),
        new Event("e-2", EventType.QR_SCAN, USER_1, HUNT_1, T0, "p", new QrScan("qr-1", "place-2")),
        new Event(
            "e-3",
            EventType.TASK_COMPLETED,
            USER_1,
            HUNT_1,
            T0,
            "p",
            new TaskCompleted("task-1", 7)),
        new Event(
            "e-4",
            EventType.DAILY_BONUS,
            USER_1,
            null,
            T0,
            "p",
            new DailyBonus(LocalDate.of(2026, 3, 1))),
        new Event(
            "e-5",
            EventType.PURCHASE,
            USER_1,
            null,
            T0,
            "p",
            new Purchase("order-1", 1299L, "EUR")));
  }

  @Test
  void everyTypeRoundTrips() throws Exception {
    for (Event event : oneOfEachType()) {
      assertThat(codec.decode(codec.encode(event))).isEqualTo(event);
    }
  }

  @Test
  void everyMessageCarriesTheCurrentFingerprint() {
    byte[] bytes = codec.encode(oneOfEachType().get(0));

    assertThat(bytes[0]).isEqualTo((byte) 0xC3);
    assertThat(bytes[1]).isEqualTo((byte) 0x01);
    assertThat(EventCodec.fingerprintOf(bytes)).isEqualTo(EventCodec.currentFingerprint());
    assertThat(codec.fingerprints()).containsValue(EventCodec.currentFingerprint());
  }

  @Test
  void eventWrittenWithVersionOneIsReadByTheCurrentCode() throws Exception {
    byte[] v1Bytes = V1Events.checkIn("e-v1", USER_1, HUNT_1, T0, "place-7");
    assertThat(EventCodec.fingerprintOf(v1Bytes))
        .isEqualTo(SchemaNormalization.parsingFingerprint64(V1Events.V1))
        .isNotEqualTo(EventCodec.currentFingerprint());

    Event event = codec.decode(v1Bytes);

    assertThat(event.getEventId()).isEqualTo("e-v1");
    assertThat(event.getType()).isEqualTo(EventType.CHECKIN);
    assertThat(event.getOccurredAt()).isEqualTo(T0);
    assertThat(event.getPayload()).isEqualTo(new CheckIn("place-7", null));
  }

  @Test
  void unknownFingerprintIsATypedError() {
    byte[] bytes = codec.encode(oneOfEachType().get(1));
    bytes[2] ^= 0x5A;

    assertThatThrownBy(() -> codec.decode(bytes))
        .isInstanceOfSatisfying(
            EventDecodingException.class,
            e -> assertThat(e.reason()).isEqualTo(EventDecodingException.Reason.UNKNOWN_SCHEMA))
        .hasMessageContaining("unknown-schema")
        .hasMessageContaining("not one of the shipped versions");
  }

  @Test
  void truncatedBodyIsATypedError() {
    byte[] full = codec.encode(oneOfEachType().get(4));
    for (int length = 10; length < full.length; length++) {
      byte[] cut = Arrays.copyOf(full, length);
      assertThatThrownBy(() -> codec.decode(cut))
          .as("cut to %d of %d bytes", length, full.length)
          .isInstanceOfSatisfying(
              EventDecodingException.class,
              e -> assertThat(e.reason()).isEqualTo(EventDecodingException.Reason.CORRUPT));
    }
  }

  @Test
  void shortOrForeignBytesAreABadHeader() {
    for (byte[] bytes :
        List.of(
            new byte[0],
            new byte[] {(byte) 0xC3, 0x01, 7},
            "not avro at all, just text".getBytes())) {
      assertThatThrownBy(() -> codec.decode(bytes))
          .isInstanceOfSatisfying(
              EventDecodingException.class,
              e -> assertThat(e.reason()).isEqualTo(EventDecodingException.Reason.BAD_HEADER));
    }
  }

  @Test
  void payloadThatDoesNotMatchTheTypeIsRefusedOnBothSides() {
    Event wrong =
        new Event("e-x", EventType.PURCHASE, USER_1, null, T0, "p", new CheckIn("place-1", null));
    assertThatThrownBy(() -> codec.encode(wrong))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("type PURCHASE needs a Purchase payload, got CheckIn");

    GenericRecord payload =
        new GenericData.Record(V1Events.V1.getField("payload").schema().getTypes().get(0));
    payload.put("place_id", "place-1");
    GenericRecord event = new GenericData.Record(V1Events.V1);
    event.put("event_id", "e-y");
    event.put(
        "type", new GenericData.EnumSymbol(V1Events.V1.getField("type").schema(), "DAILY_BONUS"));
    event.put("user_id", USER_1);
    event.put("hunt_id", null);
    event.put("occurred_at", T0.toEpochMilli());
    event.put("producer_id", "p");
    event.put("payload", payload);
    byte[] mismatched = V1Events.encode(event);

    assertThatThrownBy(() -> codec.decode(mismatched))
        .isInstanceOfSatisfying(
            EventDecodingException.class,
            e -> assertThat(e.reason()).isEqualTo(EventDecodingException.Reason.INVALID))
        .hasMessageContaining("type DAILY_BONUS needs a DailyBonus payload");
  }

  @Test
  void eventTimesOutsideTheDocumentedRangeAreInvalidOnBothSides() throws Exception {
    for (long millis :
        new long[] {Long.MAX_VALUE, Long.MIN_VALUE, -1, EventCodec.LATEST.toEpochMilli() + 1}) {
      Event event = checkInAt(Instant.ofEpochMilli(millis));
      assertThatThrownBy(() -> codec.encode(event))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("occurred_at " + millis + " ms");
      // As a foreign producer would write it, past the encoder's check.
      java.nio.ByteBuffer buffer = Event.getEncoder().encode(event);
      byte[] bytes = new byte[buffer.remaining()];
      buffer.get(bytes);
      assertThatThrownBy(() -> codec.decode(bytes))
          .isInstanceOfSatisfying(
              EventDecodingException.class,
              e -> assertThat(e.reason()).isEqualTo(EventDecodingException.Reason.INVALID))
          .hasMessageContaining("is outside 1970-01-01T00:00:00Z .. 9999-12-31T23:59:59.999Z");
    }
    for (Instant edge : List.of(EventCodec.EARLIEST, EventCodec.LATEST)) {
      assertThat(codec.decode(codec.encode(checkInAt(edge))).getOccurredAt()).isEqualTo(edge);
    }
  }

  @Test
  void sizesOverTheDocumentedLimitsAreInvalid() throws Exception {
    String longUser = "u".repeat(EventCodec.MAX_NAME + 1);
    Event event =
        new Event("e-1", EventType.CHECKIN, longUser, null, T0, "p", new CheckIn("place-1", null));
    assertThatThrownBy(() -> codec.encode(event))
        .hasMessageContaining("user_id of 257 characters is over the 256-character limit");
    Event atTheLimit =
        new Event(
            "e".repeat(EventCodec.MAX_EVENT_ID),
            EventType.CHECKIN,
            "u".repeat(EventCodec.MAX_NAME),
            "h".repeat(EventCodec.MAX_NAME),
            T0,
            "p".repeat(EventCodec.MAX_NAME),
            new CheckIn("place-1", null));
    assertThat(codec.decode(codec.encode(atTheLimit))).isEqualTo(atTheLimit);

    byte[] huge = new byte[EventCodec.MAX_RECORD_BYTES + 1];
    byte[] valid = codec.encode(oneOfEachType().get(0));
    System.arraycopy(valid, 0, huge, 0, valid.length);
    assertThatThrownBy(() -> codec.decode(huge))
        .isInstanceOfSatisfying(
            EventDecodingException.class,
            e -> assertThat(e.reason()).isEqualTo(EventDecodingException.Reason.INVALID))
        .hasMessageContaining("record of 65537 bytes is over the 65536-byte limit");
  }

  @Test
  void identifiersThatCannotBeKeysAreInvalid() {
    Event nul =
        new Event("e-1", EventType.CHECKIN, "us\u0000er", null, T0, "p", new CheckIn("p", null));
    assertThatThrownBy(() -> codec.encode(nul))
        .hasMessageContaining("user_id contains the control character U+0000 at 2");
    Event newline =
        new Event("e\n1", EventType.CHECKIN, "user", null, T0, "p", new CheckIn("p", null));
    assertThatThrownBy(() -> codec.encode(newline))
        .hasMessageContaining("event_id contains the control character U+000A at 1");
    Event pipe =
        new Event("e-1", EventType.CHECKIN, "user", "a|b", T0, "p", new CheckIn("p", null));
    assertThatThrownBy(() -> codec.encode(pipe)).hasMessageContaining("hunt_id 'a|b' contains '|'");
    Event unicode =
        new Event("e-1", EventType.CHECKIN, "ユーザー|1", "ハント", T0, "p", new CheckIn("p", null));
    assertThat(codec.encode(unicode)).as("anything else printable is fine").isNotEmpty();
  }

  private static Event checkInAt(Instant occurredAt) {
    return new Event(
        "e-t", EventType.CHECKIN, USER_1, null, occurredAt, "p", new CheckIn("place-1", null));
  }

  @Test
  void shippedVersionsKeepTheFingerprintsDocumentedInEventsMd() {
    // History files are immutable: events written with them are in the log for good.
    assertThat(codec.fingerprints())
        .containsExactly(entry(1, 0x7588f65ffb67e077L), entry(2, 0x6f65149807d6e1ffL));
  }

  @Test
  void moduleShipsEveryVersionInOrder() {
    assertThat(EventCodec.shippedVersions()).containsOnlyKeys(1, 2);
    assertThat(SchemaNormalization.parsingFingerprint64(EventCodec.shippedVersions().get(2)))
        .isEqualTo(EventCodec.currentFingerprint());
  }
}
