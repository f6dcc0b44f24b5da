package dev.tally.testing;

/**
 * Gives a test the JVM's shared {@link KafkaBroker}: {@code @ExtendWith(KafkaExtension.class)} and
 * a {@code KafkaBroker} parameter on a test, constructor or {@code @BeforeAll} method.
 */
public final class KafkaExtension extends SharedFixture<KafkaBroker> {
  public KafkaExtension() {
    super(KafkaBroker.class, KafkaBroker::start);
  }
}
