package dev.tally.jobs.decode;

import dev.tally.common.events.EventCodec;
import dev.tally.common.events.EventDecodingException;
import dev.tally.events.Event;
import dev.tally.events.TaskCompleted;
import java.time.Duration;
import java.time.Instant;
import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * Decodes lane records in the Kafka source itself, so watermarks come from each partition's {@code
 * occurred_at}. Never throws on input: whatever does not decode becomes a {@link DeadLetter}
 * carrying the reason and the original bytes — so does an event stamped more than {@code maxLead}
 * after its record's append time ({@code invalid}): one event from a producer whose clock is years
 * ahead would otherwise move its partition's event-time clock so far that every later event there
 * came too late for {@code activity}. The rule reads only the record, so every replay decides
 * alike.
 */
public final class DecodingDeserializer implements KafkaRecordDeserializationSchema<SourceRecord> {

  private static final long serialVersionUID = 1L;

  private final long maxLeadMillis;
  private final String maxLeadText;

  private transient EventCodec codec;

  /**
   * @param maxLead how far after its record's append time an event's {@code occurred_at} may be
   */
  public DecodingDeserializer(Duration maxLead) {
    this.maxLeadMillis = maxLead.toMillis();
    this.maxLeadText = maxLead.toString();
  }

  @Override
  public void open(DeserializationSchema.InitializationContext context) {
    codec = new EventCodec();
  }

  @Override
  public void deserialize(ConsumerRecord<byte[], byte[]> record, Collector<SourceRecord> out) {
    if (codec == null) {
      codec = new EventCodec();
    }
    Event event;
    try {
      event = codec.decode(record.value());
    } catch (EventDecodingException e) {
      out.collect(SourceRecord.of(deadLetter(record, e.reason(), e.getMessage())));
      return;
    }
    long occurredAt = event.getOccurredAt().toEpochMilli();
    // No append time (a pre-0.10 record): nothing to judge the lead by.
    if (record.timestamp() >= 0 && occurredAt - record.timestamp() > maxLeadMillis) {
      out.collect(
          SourceRecord.of(
              deadLetter(
                  record,
                  EventDecodingException.Reason.INVALID,
                  "invalid: occurred_at "
                      + event.getOccurredAt()
                      + " is more than "
                      + maxLeadText
                      + " (--max-event-lead) after the record's append time "
                      + Instant.ofEpochMilli(record.timestamp()))));
      return;
    }
    out.collect(SourceRecord.of(toFoldEvent(event, record)));
  }

  private static DeadLetter deadLetter(
      ConsumerRecord<byte[], byte[]> record, EventDecodingException.Reason reason, String error) {
    return new DeadLetter(
        reason.code(),
        error,
        record.topic(),
        record.partition(),
        record.offset(),
        record.timestamp(),
        record.key(),
        record.value());
  }

  private static FoldEvent toFoldEvent(Event event, ConsumerRecord<byte[], byte[]> record) {
    FoldEvent fold = new FoldEvent();
    fold.eventId = event.getEventId();
    fold.type = event.getType();
    fold.userId = event.getUserId();
    fold.huntId = event.getHuntId();
    fold.occurredAt = event.getOccurredAt().toEpochMilli();
    fold.payloadPoints = event.getPayload() instanceof TaskCompleted task ? task.getPoints() : null;
    fold.partition = record.partition();
    fold.offset = record.offset();
    fold.appendTime = record.timestamp();
    // Kept until the lane's admission step knows whether a view refuses the event.
    fold.topic = record.topic();
    fold.raw = record.value();
    return fold;
  }

  @Override
  public TypeInformation<SourceRecord> getProducedType() {
    return TypeInformation.of(SourceRecord.class);
  }
}
