package dev.tally.common.kafka;

import dev.tally.common.events.EventCodec;
import dev.tally.common.events.Lane;
import dev.tally.events.Event;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Writes events to their lane's topic: idempotent ({@code enable.idempotence=true}, {@code
 * acks=all}), keyed by {@code user_id} so one user's events stay ordered in one partition, the lane
 * chosen by {@link Lane#of}. Sends are asynchronous; every failure completes the returned future
 * exceptionally and is counted, and {@link #flush()} / {@link #close()} throw when any send failed,
 * so no error is ever lost.
 */
public final class EventProducer implements AutoCloseable {

  private final KafkaProducer<String, byte[]> producer;
  private final EventCodec codec = new EventCodec();
  private final String topicPrefix;
  private final AtomicLong sent = new AtomicLong();
  private final AtomicLong failed = new AtomicLong();
  private final AtomicReference<Exception> firstFailure = new AtomicReference<>();

  /**
   * @param bootstrapServers the Kafka cluster
   * @param topicPrefix prepended to lane topic names ("" in production)
   * @param overrides producer configs that replace the defaults below (never idempotence or acks)
   */
  public EventProducer(String bootstrapServers, String topicPrefix, Properties overrides) {
    this.topicPrefix = topicPrefix;
    this.producer =
        new KafkaProducer<>(
            config(bootstrapServers, overrides), new StringSerializer(), new ByteArraySerializer());
  }

  /** The producer configs Tally uses: durable, ordered, batched. */
  public static Properties config(String bootstrapServers, Properties overrides) {
    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    props.put(ProducerConfig.LINGER_MS_CONFIG, "5");
    props.put(ProducerConfig.BATCH_SIZE_CONFIG, Integer.toString(256 * 1024));
    props.put(ProducerConfig.BUFFER_MEMORY_CONFIG, Long.toString(128L * 1024 * 1024));
    props.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
    props.putAll(overrides);
    // Not overridable: these make retries safe and ordered, and every write durable.
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, "5");
    return props;
  }

  /** Encodes the event and sends it to its lane, keyed by user. */
  public CompletableFuture<RecordMetadata> send(Event event) {
    String topic = Lane.of(event.getType()).topic(topicPrefix);
    return sendRaw(topic, event.getUserId(), codec.encode(event));
  }

  /** Sends bytes as they are (already-encoded events, or the generator's malformed records). */
  public CompletableFuture<RecordMetadata> sendRaw(String topic, String key, byte[] value) {
    CompletableFuture<RecordMetadata> result = new CompletableFuture<>();
    producer.send(
        new ProducerRecord<>(topic, key, value),
        (metadata, error) -> {
          if (error == null) {
            sent.incrementAndGet();
            result.complete(metadata);
          } else {
            failed.incrementAndGet();
            firstFailure.compareAndSet(null, error);
            result.completeExceptionally(error);
          }
        });
    return result;
  }

  /** Acknowledged sends so far. */
  public long acknowledged() {
    return sent.get();
  }

  /** Failed sends so far. */
  public long failed() {
    return failed.get();
  }

  /**
   * Waits until every send so far is acknowledged or failed.
   *
   * @throws EventProducerException when any send has failed
   */
  public void flush() {
    producer.flush();
    throwIfFailed();
  }

  @Override
  public void close() {
    try {
      producer.flush();
    } finally {
      producer.close();
    }
    throwIfFailed();
  }

  private void throwIfFailed() {
    if (failed.get() > 0) {
      throw new EventProducerException(
          failed.get() + " sends failed; the first: " + firstFailure.get(), firstFailure.get());
    }
  }

  /** Some sends failed; the message counts them and names the first error. */
  public static final class EventProducerException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    EventProducerException(String message, Throwable cause) {
      super(message, cause);
    }
  }
}
