package dev.tally.jobs.decode;

import dev.tally.common.events.EventCodec;
import dev.tally.common.events.EventDecodingException;
import dev.tally.events.Event;
import dev.tally.events.TaskCompleted;
import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * Decodes lane records in the Kafka source itself, so watermarks come from each partition's {@code
 * occurred_at}. Never throws on input: whatever does not decode becomes a {@link DeadLetter}
 * carrying the reason and the original bytes.
 */
public final class DecodingDeserializer implements KafkaRecordDeserializationSchema<SourceRecord> {

  private static final long serialVersionUID = 1L;

  private transient EventCodec codec;

  public DecodingDeserializer() {}

  @Override
  public void open(DeserializationSchema.InitializationContext context) {
    codec = new EventCodec();
  }

  @Override
  public void deserialize(ConsumerRecord<byte[], byte[]> record, Collector<SourceRecord> out) {
    if (codec == null) {
      codec = new EventCodec();
    }
    try {
      Event event = codec.decode(record.value());
      out.collect(SourceRecord.of(toFoldEvent(event, record)));
    } catch (EventDecodingException e) {
      out.collect(
          SourceRecord.of(
              new DeadLetter(
                  e.reason().code(),
                  e.getMessage(),
                  record.topic(),
                  record.partition(),
                  record.offset(),
                  record.timestamp(),
                  record.key(),
                  record.value())));
    }
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
