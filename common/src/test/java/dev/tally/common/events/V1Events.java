package dev.tally.common.events;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.time.Instant;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.message.BinaryMessageEncoder;

/** Writes events the way a producer built with schema version 1 did: generic records, v1 schema. */
public final class V1Events {

  public static final Schema V1 = EventCodec.shippedVersions().get(1);

  private V1Events() {}

  /**
   * A v1 check-in (v1 has no device fingerprint), single-object encoded with the v1 fingerprint.
   */
  public static byte[] checkIn(
      String eventId, String userId, String huntId, Instant occurredAt, String placeId) {
    Schema payloadSchema = V1.getField("payload").schema().getTypes().get(0);
    GenericRecord payload = new GenericData.Record(payloadSchema);
    payload.put("place_id", placeId);
    GenericRecord event = new GenericData.Record(V1);
    event.put("event_id", eventId);
    event.put("type", new GenericData.EnumSymbol(V1.getField("type").schema(), "CHECKIN"));
    event.put("user_id", userId);
    event.put("hunt_id", huntId);
    event.put("occurred_at", occurredAt.toEpochMilli());
    event.put("producer_id", "producer-v1");
    event.put("payload", payload);
    return encode(event);
  }

  /** Encodes any generic record of the v1 schema. */
  public static byte[] encode(GenericRecord event) {
    try {
      ByteBuffer buffer =
          new BinaryMessageEncoder<GenericRecord>(GenericData.get(), V1).encode(event);
      byte[] bytes = new byte[buffer.remaining()];
      buffer.get(bytes);
      return bytes;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
