package dev.tally.common.generator;

import dev.tally.common.events.EventCodec;
import dev.tally.common.events.Lane;
import dev.tally.events.CheckIn;
import dev.tally.events.DailyBonus;
import dev.tally.events.Event;
import dev.tally.events.EventType;
import dev.tally.events.Purchase;
import dev.tally.events.QrScan;
import dev.tally.events.TaskCompleted;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.stream.Collectors;

/**
 * A deterministic stream of records for the event log: heterogeneous events from skewed users and
 * hunts, mixed with duplicates, out-of-order and late events, and malformed records in the
 * proportions of its {@link GeneratorOptions}. Everything comes from one seeded {@link
 * SplittableRandom} and a simulated clock, never from the wall clock, so the same options give the
 * same bytes on every run.
 */
public final class LoadGenerator implements Iterator<GeneratedRecord> {

  /** Event type mix, in percent. */
  private static final EventType[] TYPES = {
    EventType.CHECKIN,
    EventType.QR_SCAN,
    EventType.TASK_COMPLETED,
    EventType.PURCHASE,
    EventType.DAILY_BONUS
  };

  private static final int[] TYPE_WEIGHTS = {35, 25, 20, 10, 10};
  private static final int RECENT = 10_000;
  private static final int RESERVOIR = 10_000;

  /** Share of duplicates drawn from the whole history rather than the recent past. */
  private static final double LONG_AFTER = 0.2;

  private final GeneratorOptions options;
  private final SplittableRandom random;
  private final ZipfSampler users;
  private final ZipfSampler hunts;
  private final EventCodec codec = new EventCodec();
  private final Set<Long> knownFingerprints;
  private final GeneratorSummary summary = new GeneratorSummary();
  private final GeneratedRecord[] recent = new GeneratedRecord[RECENT];
  private final List<GeneratedRecord> reservoir = new ArrayList<>(RESERVOIR);
  private long originals;
  private long index;

  public LoadGenerator(GeneratorOptions options) {
    this.options = options;
    this.random = new SplittableRandom(options.seed());
    this.users = new ZipfSampler(options.users(), options.userSkew());
    this.hunts = new ZipfSampler(options.hunts(), options.huntSkew());
    this.knownFingerprints = codec.fingerprints().values().stream().collect(Collectors.toSet());
  }

  @Override
  public boolean hasNext() {
    return index < options.records();
  }

  @Override
  public GeneratedRecord next() {
    if (!hasNext()) {
      throw new NoSuchElementException("all " + options.records() + " records generated");
    }
    Instant clock = options.start().plusNanos(index * options.spacing().toNanos());
    GeneratedRecord record = nextRecord(clock);
    index++;
    summary.count(record);
    return record;
  }

  /** What has been generated so far. */
  public GeneratorSummary summary() {
    return summary;
  }

  public GeneratorOptions options() {
    return options;
  }

  private GeneratedRecord nextRecord(Instant clock) {
    double draw = random.nextDouble();
    double edge = options.malformed();
    if (draw < edge) {
      return malformed(clock);
    }
    edge += options.duplicates();
    if (draw < edge && originals > 0) {
      return duplicate();
    }
    edge += options.late();
    if (draw < edge) {
      long lateness = between(options.minLateness().toMillis(), options.maxLateness().toMillis());
      return original(clock.minusMillis(lateness), RecordKind.LATE);
    }
    edge += options.outOfOrder();
    if (draw < edge) {
      long behind = between(1, options.maxOutOfOrder().toMillis());
      return original(clock.minusMillis(behind), RecordKind.OUT_OF_ORDER);
    }
    return original(clock, RecordKind.ON_TIME);
  }

  private GeneratedRecord original(Instant occurredAt, RecordKind kind) {
    Event event = event(occurredAt);
    GeneratedRecord record =
        new GeneratedRecord(
            Lane.of(event.getType()).topic(options.topicPrefix()),
            event.getUserId(),
            codec.encode(event),
            kind,
            event);
    remember(record);
    return record;
  }

  private GeneratedRecord duplicate() {
    GeneratedRecord original;
    if (random.nextDouble() < LONG_AFTER) {
      original = reservoir.get(random.nextInt(reservoir.size()));
    } else {
      long back = Math.min(originals, RECENT);
      long position = originals - 1 - random.nextLong(back);
      original = recent[(int) (position % RECENT)];
    }
    return new GeneratedRecord(
        original.topic(), original.key(), original.value(), RecordKind.DUPLICATE, original.event());
  }

  /** Keeps the recent past in a ring and a uniform sample of all history in a reservoir. */
  private void remember(GeneratedRecord record) {
    recent[(int) (originals % RECENT)] = record;
    if (reservoir.size() < RESERVOIR) {
      reservoir.add(record);
    } else {
      long slot = random.nextLong(originals + 1);
      if (slot < RESERVOIR) {
        reservoir.set((int) slot, record);
      }
    }
    originals++;
  }

  private GeneratedRecord malformed(Instant clock) {
    String topic = Lane.values()[random.nextInt(Lane.values().length)].topic(options.topicPrefix());
    String key = userId(users.next(random));
    int flavour = random.nextInt(3);
    if (flavour == 0) {
      byte[] bytes = new byte[1 + random.nextInt(64)];
      random.nextBytes(bytes);
      return new GeneratedRecord(topic, key, bytes, RecordKind.MALFORMED_RANDOM, null);
    }
    byte[] valid = codec.encode(event(clock));
    if (flavour == 1) {
      byte[] cut = Arrays.copyOf(valid, 1 + random.nextInt(valid.length - 1));
      return new GeneratedRecord(topic, key, cut, RecordKind.MALFORMED_TRUNCATED, null);
    }
    long fingerprint;
    do {
      fingerprint = random.nextLong();
    } while (knownFingerprints.contains(fingerprint));
    for (int i = 0; i < 8; i++) {
      valid[2 + i] = (byte) (fingerprint >>> (8 * i));
    }
    return new GeneratedRecord(topic, key, valid, RecordKind.MALFORMED_UNKNOWN_SCHEMA, null);
  }

  private Event event(Instant occurredAt) {
    EventType type = type();
    String user = userId(users.next(random));
    String hunt = huntFor(type);
    Object payload =
        switch (type) {
          case CHECKIN ->
              new CheckIn(
                  place(),
                  random.nextBoolean() ? "device-" + Long.toHexString(random.nextLong()) : null);
          case QR_SCAN -> new QrScan("qr-" + Long.toHexString(random.nextLong()), place());
          case TASK_COMPLETED ->
              new TaskCompleted(
                  "task-" + random.nextInt(200),
                  random.nextInt(10) < 3 ? 1 + random.nextInt(50) : null);
          case PURCHASE ->
              new Purchase(
                  "order-" + options.seed() + "-" + index, 100 + random.nextLong(9_901), "EUR");
          case DAILY_BONUS -> new DailyBonus(occurredAt.atZone(ZoneOffset.UTC).toLocalDate());
          case UNKNOWN ->
              throw new IllegalStateException("the generator never makes UNKNOWN events");
        };
    return new Event(
        uuid7(occurredAt), type, user, hunt, occurredAt, options.producerId(), payload);
  }

  private EventType type() {
    int roll = random.nextInt(100);
    for (int i = 0; i < TYPES.length; i++) {
      roll -= TYPE_WEIGHTS[i];
      if (roll < 0) {
        return TYPES[i];
      }
    }
    return TYPES[TYPES.length - 1];
  }

  /**
   * Hunts: check-ins, scans and tasks always belong to one, purchases half the time, bonuses never.
   */
  private String huntFor(EventType type) {
    boolean inHunt =
        switch (type) {
          case CHECKIN, QR_SCAN, TASK_COMPLETED -> true;
          case PURCHASE -> random.nextBoolean();
          default -> false;
        };
    return inHunt ? "hunt-" + hunts.next(random) : null;
  }

  private String place() {
    return "place-" + random.nextInt(500);
  }

  private static String userId(int rank) {
    return "user-" + rank;
  }

  private long between(long low, long high) {
    return low >= high ? low : low + random.nextLong(high - low + 1);
  }

  /** A UUIDv7 (RFC 9562): 48-bit millisecond timestamp, version 7, variant 2, 74 random bits. */
  private String uuid7(Instant time) {
    long millis = time.toEpochMilli();
    long msb = (millis << 16) | 0x7000L | (random.nextLong() & 0x0FFFL);
    long lsb = (random.nextLong() & 0x3FFFFFFFFFFFFFFFL) | 0x8000000000000000L;
    return new UUID(msb, lsb).toString();
  }
}
