package dev.tally.common.events;

import dev.tally.events.CheckIn;
import dev.tally.events.DailyBonus;
import dev.tally.events.Event;
import dev.tally.events.EventType;
import dev.tally.events.Purchase;
import dev.tally.events.QrScan;
import dev.tally.events.TaskCompleted;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.message.BadHeaderException;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.avro.message.MissingSchemaException;
import org.apache.avro.specific.SpecificData;

/**
 * Encodes and decodes {@link Event}s in Avro single-object encoding: two marker bytes {@code C3
 * 01}, the 8-byte CRC-64-AVRO fingerprint of the writer schema (little-endian), then the Avro
 * binary body. The decoder knows every schema version shipped under {@code
 * dev/tally/events/history/} and resolves each to the current classes, so old and new events read
 * alike.
 *
 * <p>Thread-safe; cheap to share. Not serializable: Flink functions build it in {@code open}.
 */
public final class EventCodec {

  static final String HISTORY = "/dev/tally/events/history/event-v%d.avsc";

  /** The largest record value a reader decodes: anything longer is {@code invalid} unread. */
  public static final int MAX_RECORD_BYTES = 64 * 1024;

  /** The longest {@code event_id}, in characters. */
  public static final int MAX_EVENT_ID = 128;

  /** The longest {@code user_id}, {@code hunt_id} and {@code producer_id}, in characters. */
  public static final int MAX_NAME = 256;

  /** The earliest {@code occurred_at} an event may carry. */
  public static final Instant EARLIEST = Instant.EPOCH;

  /**
   * The latest {@code occurred_at} an event may carry: the last millisecond of year 9999, so every
   * event time has a four-digit ISO-8601 year and, in milliseconds, stays far below 2^53.
   */
  public static final Instant LATEST = Instant.parse("9999-12-31T23:59:59.999Z");

  private static final int HEADER_LENGTH = 10;

  private final BinaryMessageEncoder<Event> encoder;
  private final BinaryMessageDecoder<Event> decoder;
  private final Map<Integer, Long> fingerprints;
  private final Map<Long, Schema> writerSchemas = new java.util.HashMap<>();
  private final ThreadLocal<BinaryDecoder> skipDecoder = new ThreadLocal<>();

  public EventCodec() {
    SpecificData model = SpecificData.getForSchema(Event.getClassSchema());
    this.encoder = new BinaryMessageEncoder<>(model, Event.getClassSchema());
    this.decoder = new BinaryMessageDecoder<>(model, Event.getClassSchema());
    Map<Integer, Long> known = new LinkedHashMap<>();
    for (Map.Entry<Integer, Schema> version : shippedVersions().entrySet()) {
      decoder.addSchema(version.getValue());
      long fingerprint = SchemaNormalization.parsingFingerprint64(version.getValue());
      known.put(version.getKey(), fingerprint);
      writerSchemas.put(fingerprint, version.getValue());
    }
    this.fingerprints = Collections.unmodifiableMap(known);
  }

  /** Every schema version this build ships, by version number (1, 2, …). */
  public static Map<Integer, Schema> shippedVersions() {
    Map<Integer, Schema> versions = new LinkedHashMap<>();
    for (int version = 1; ; version++) {
      try (InputStream in = EventCodec.class.getResourceAsStream(String.format(HISTORY, version))) {
        if (in == null) {
          break;
        }
        versions.put(version, new Schema.Parser().parse(in));
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read schema version " + version, e);
      }
    }
    if (versions.isEmpty()) {
      throw new IllegalStateException("no event schema versions on the classpath under " + HISTORY);
    }
    return versions;
  }

  /** The fingerprint of each shipped version (CRC-64-AVRO of its parsing canonical form). */
  public Map<Integer, Long> fingerprints() {
    return fingerprints;
  }

  /** The fingerprint every event this build writes carries. */
  public static long currentFingerprint() {
    return SchemaNormalization.parsingFingerprint64(Event.getClassSchema());
  }

  /**
   * Encodes an event with the current schema.
   *
   * @throws IllegalArgumentException when the event breaks the envelope's rules
   */
  public byte[] encode(Event event) {
    String problem = validate(event);
    if (problem != null) {
      throw new IllegalArgumentException(
          "cannot encode event " + event.getEventId() + ": " + problem);
    }
    try {
      ByteBuffer buffer = encoder.encode(event);
      byte[] bytes = new byte[buffer.remaining()];
      buffer.get(bytes);
      return bytes;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot encode event " + event.getEventId(), e);
    }
  }

  /**
   * Decodes single-object encoded bytes written with any shipped schema version.
   *
   * @throws EventDecodingException with the reason, for anything that is not a valid event
   */
  public Event decode(byte[] bytes) throws EventDecodingException {
    if (bytes == null || bytes.length < HEADER_LENGTH) {
      throw new EventDecodingException(
          EventDecodingException.Reason.BAD_HEADER,
          "record of "
              + (bytes == null ? "no" : bytes.length)
              + " bytes is shorter than the 10-byte header",
          null);
    }
    if (bytes.length > MAX_RECORD_BYTES) {
      throw new EventDecodingException(
          EventDecodingException.Reason.INVALID,
          "record of " + bytes.length + " bytes is over the " + MAX_RECORD_BYTES + "-byte limit",
          null);
    }
    checkLengths(bytes);
    Event event;
    try {
      event = decoder.decode(bytes);
    } catch (BadHeaderException e) {
      throw new EventDecodingException(EventDecodingException.Reason.BAD_HEADER, e.getMessage(), e);
    } catch (MissingSchemaException e) {
      throw new EventDecodingException(
          EventDecodingException.Reason.UNKNOWN_SCHEMA,
          String.format(
              "fingerprint %016x is not one of the shipped versions %s",
              fingerprintOf(bytes), describeKnown()),
          e);
    } catch (IOException | RuntimeException e) {
      // Avro reports a short or garbled body through any of these (AvroRuntimeException,
      // IndexOutOfBounds, NegativeArraySize, UnsupportedOperation for an impossible length, …).
      throw new EventDecodingException(
          EventDecodingException.Reason.CORRUPT, "body does not decode: " + e, e);
    }
    String problem = validate(event);
    if (problem != null) {
      throw new EventDecodingException(EventDecodingException.Reason.INVALID, problem, null);
    }
    return event;
  }

  /**
   * Walks the body with the writer's schema, skipping every value: a garbled length prefix (a
   * string "of 1.5 GB" in a 200-byte record) fails here, against the bytes there are, instead of
   * making the decoder allocate it first.
   */
  private void checkLengths(byte[] bytes) throws EventDecodingException {
    if (bytes[0] != (byte) 0xC3 || bytes[1] != 0x01) {
      return; // the decoder names it a bad header
    }
    Schema writer = writerSchemas.get(fingerprintOf(bytes));
    if (writer == null) {
      return; // … or an unknown schema
    }
    BinaryDecoder body =
        DecoderFactory.get()
            .binaryDecoder(bytes, HEADER_LENGTH, bytes.length - HEADER_LENGTH, skipDecoder.get());
    skipDecoder.set(body);
    try {
      GenericDatumReader.skip(writer, body);
    } catch (IOException | RuntimeException e) {
      throw new EventDecodingException(
          EventDecodingException.Reason.CORRUPT, "body does not decode: " + e, e);
    }
  }

  /** The writer fingerprint in a single-object header (little-endian, as the spec says). */
  static long fingerprintOf(byte[] bytes) {
    return ByteBuffer.wrap(bytes, 2, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
  }

  private String describeKnown() {
    List<String> known = new ArrayList<>();
    fingerprints.forEach((version, fp) -> known.add(String.format("v%d=%016x", version, fp)));
    return known.toString();
  }

  /** The envelope's rules beyond the schema; null when the event keeps them. */
  static String validate(Event event) {
    if (event.getEventId() == null || event.getEventId().isBlank()) {
      return "event_id is empty";
    }
    if (event.getUserId() == null || event.getUserId().isBlank()) {
      return "user_id is empty";
    }
    for (String tooLong :
        new String[] {
          tooLong("event_id", event.getEventId(), MAX_EVENT_ID),
          tooLong("user_id", event.getUserId(), MAX_NAME),
          tooLong("hunt_id", event.getHuntId(), MAX_NAME),
          tooLong("producer_id", event.getProducerId(), MAX_NAME)
        }) {
      if (tooLong != null) {
        return tooLong;
      }
    }
    // Identifiers become keys in every store: PostgreSQL text holds no NUL, and no store's keys
    // should hold line breaks or other control characters.
    for (String control :
        new String[] {
          control("event_id", event.getEventId()),
          control("user_id", event.getUserId()),
          control("hunt_id", event.getHuntId()),
          control("producer_id", event.getProducerId())
        }) {
      if (control != null) {
        return control;
      }
    }
    if (event.getHuntId() != null && event.getHuntId().indexOf('|') >= 0) {
      return "hunt_id '"
          + event.getHuntId()
          + "' contains '|', which separates hunt and user in leaderboard keys";
    }
    Instant occurredAt = event.getOccurredAt();
    if (occurredAt == null) {
      return "occurred_at is missing";
    }
    if (occurredAt.isBefore(EARLIEST) || occurredAt.isAfter(LATEST)) {
      return "occurred_at "
          + occurredAt.toEpochMilli()
          + " ms ("
          + occurredAt
          + ") is outside "
          + EARLIEST
          + " .. "
          + LATEST;
    }
    Class<?> expected = payloadClass(event.getType());
    if (expected == null) {
      return "type " + event.getType() + " is not one this build handles";
    }
    if (!expected.isInstance(event.getPayload())) {
      return "type "
          + event.getType()
          + " needs a "
          + expected.getSimpleName()
          + " payload, got "
          + (event.getPayload() == null ? "none" : event.getPayload().getClass().getSimpleName());
    }
    return null;
  }

  private static String control(String field, CharSequence value) {
    if (value == null) {
      return null;
    }
    for (int i = 0; i < value.length(); i++) {
      if (Character.isISOControl(value.charAt(i))) {
        return String.format(
            "%s contains the control character U+%04X at %d", field, (int) value.charAt(i), i);
      }
    }
    return null;
  }

  private static String tooLong(String field, CharSequence value, int limit) {
    if (value != null && value.length() > limit) {
      return field
          + " of "
          + value.length()
          + " characters is over the "
          + limit
          + "-character limit";
    }
    return null;
  }

  /** The payload record each event type carries. */
  public static Class<?> payloadClass(EventType type) {
    return switch (type) {
      case CHECKIN -> CheckIn.class;
      case QR_SCAN -> QrScan.class;
      case TASK_COMPLETED -> TaskCompleted.class;
      case DAILY_BONUS -> DailyBonus.class;
      case PURCHASE -> Purchase.class;
      case UNKNOWN -> null;
    };
  }
}
