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
import org.apache.avro.AvroRuntimeException;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
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

  public EventCodec() {
    SpecificData model = SpecificData.getForSchema(Event.getClassSchema());
    this.encoder = new BinaryMessageEncoder<>(model, Event.getClassSchema());
    this.decoder = new BinaryMessageDecoder<>(model, Event.getClassSchema());
    Map<Integer, Long> known = new LinkedHashMap<>();
    for (Map.Entry<Integer, Schema> version : shippedVersions().entrySet()) {
      decoder.addSchema(version.getValue());
      known.put(version.getKey(), SchemaNormalization.parsingFingerprint64(version.getValue()));
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
    } catch (IOException
        | AvroRuntimeException
        | IndexOutOfBoundsException
        | NegativeArraySizeException e) {
      // Avro reports a short or garbled body through any of these.
      throw new EventDecodingException(
          EventDecodingException.Reason.CORRUPT, "body does not decode: " + e, e);
    }
    String problem = validate(event);
    if (problem != null) {
      throw new EventDecodingException(EventDecodingException.Reason.INVALID, problem, null);
    }
    return event;
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
