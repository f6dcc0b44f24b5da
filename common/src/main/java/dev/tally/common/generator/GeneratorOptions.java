package dev.tally.common.generator;

import java.time.Duration;
import java.time.Instant;

/**
 * Everything that shapes the generated load. The same options (seed included) give the same
 * records, byte for byte.
 *
 * @param seed the random seed
 * @param records how many records to produce in all (every kind counts)
 * @param users distinct users; the Kafka key
 * @param hunts distinct hunts
 * @param userSkew Zipf exponent of user popularity (0 = uniform)
 * @param huntSkew Zipf exponent of hunt popularity
 * @param duplicates fraction of records that re-send an earlier event
 * @param outOfOrder fraction of records whose {@code occurred_at} is up to {@code maxOutOfOrder}
 *     behind the clock
 * @param late fraction of records whose {@code occurred_at} is {@code minLateness..maxLateness}
 *     behind the clock
 * @param malformed fraction of records that are not valid events
 * @param start the generator clock's start (event time of the first record)
 * @param spacing how far the clock moves per record
 * @param topicPrefix prepended to the lane topics
 * @param producerId written into every event
 */
public record GeneratorOptions(
    long seed,
    long records,
    int users,
    int hunts,
    double userSkew,
    double huntSkew,
    double duplicates,
    double outOfOrder,
    double late,
    double malformed,
    Duration maxOutOfOrder,
    Duration minLateness,
    Duration maxLateness,
    Instant start,
    Duration spacing,
    String topicPrefix,
    String producerId) {

  public static final Instant DEFAULT_START = Instant.parse("2026-01-01T00:00:00Z");

  public GeneratorOptions {
    require(records >= 0, "records must be >= 0, got " + records);
    require(users >= 1, "users must be >= 1, got " + users);
    require(hunts >= 1, "hunts must be >= 1, got " + hunts);
    require(userSkew >= 0 && huntSkew >= 0, "skew (Zipf exponent) must be >= 0");
    requireFraction("duplicates", duplicates);
    requireFraction("out-of-order", outOfOrder);
    requireFraction("late", late);
    requireFraction("malformed", malformed);
    require(
        duplicates + outOfOrder + late + malformed <= 1.0,
        "duplicates + out-of-order + late + malformed must be <= 1, got "
            + (duplicates + outOfOrder + late + malformed));
    require(!maxOutOfOrder.isNegative() && !maxOutOfOrder.isZero(), "max out-of-order must be > 0");
    require(
        minLateness.compareTo(maxLateness) <= 0 && !minLateness.isNegative(),
        "lateness range must satisfy 0 <= min <= max, got " + minLateness + ".." + maxLateness);
    require(!spacing.isNegative(), "spacing must be >= 0");
  }

  /**
   * Sensible defaults: 100k records, 10k users, 100 hunts, skew 1.1, 5% dup, 5% ooo, 1% late, 1%
   * bad.
   */
  public static GeneratorOptions defaults() {
    return new GeneratorOptions(
        42L,
        100_000,
        10_000,
        100,
        1.1,
        1.1,
        0.05,
        0.05,
        0.01,
        0.01,
        Duration.ofSeconds(5),
        Duration.ofMinutes(2),
        Duration.ofMinutes(10),
        DEFAULT_START,
        Duration.ofMillis(1),
        "",
        "tally-generator");
  }

  public GeneratorOptions withSeed(long value) {
    return new GeneratorOptions(
        value,
        records,
        users,
        hunts,
        userSkew,
        huntSkew,
        duplicates,
        outOfOrder,
        late,
        malformed,
        maxOutOfOrder,
        minLateness,
        maxLateness,
        start,
        spacing,
        topicPrefix,
        producerId);
  }

  public GeneratorOptions withRecords(long value) {
    return new GeneratorOptions(
        seed,
        value,
        users,
        hunts,
        userSkew,
        huntSkew,
        duplicates,
        outOfOrder,
        late,
        malformed,
        maxOutOfOrder,
        minLateness,
        maxLateness,
        start,
        spacing,
        topicPrefix,
        producerId);
  }

  public GeneratorOptions withTopicPrefix(String value) {
    return new GeneratorOptions(
        seed,
        records,
        users,
        hunts,
        userSkew,
        huntSkew,
        duplicates,
        outOfOrder,
        late,
        malformed,
        maxOutOfOrder,
        minLateness,
        maxLateness,
        start,
        spacing,
        value,
        producerId);
  }

  /** How late the generator's late events are, behind its clock. */
  public GeneratorOptions withLateness(Duration min, Duration max) {
    return new GeneratorOptions(
        seed,
        records,
        users,
        hunts,
        userSkew,
        huntSkew,
        duplicates,
        outOfOrder,
        late,
        malformed,
        maxOutOfOrder,
        min,
        max,
        start,
        spacing,
        topicPrefix,
        producerId);
  }

  public GeneratorOptions withFractions(double dup, double ooo, double lateFraction, double bad) {
    return new GeneratorOptions(
        seed,
        records,
        users,
        hunts,
        userSkew,
        huntSkew,
        dup,
        ooo,
        lateFraction,
        bad,
        maxOutOfOrder,
        minLateness,
        maxLateness,
        start,
        spacing,
        topicPrefix,
        producerId);
  }

  public GeneratorOptions withKeys(
      int userCount, int huntCount, double userExponent, double huntExponent) {
    return new GeneratorOptions(
        seed,
        records,
        userCount,
        huntCount,
        userExponent,
        huntExponent,
        duplicates,
        outOfOrder,
        late,
        malformed,
        maxOutOfOrder,
        minLateness,
        maxLateness,
        start,
        spacing,
        topicPrefix,
        producerId);
  }

  private static void requireFraction(String name, double value) {
    require(value >= 0 && value <= 1, name + " must be a fraction in [0, 1], got " + value);
  }

  private static void require(boolean condition, String message) {
    if (!condition) {
      throw new IllegalArgumentException(message);
    }
  }
}
