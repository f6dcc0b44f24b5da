package dev.tally.common.generator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.tally.common.events.EventCodec;
import dev.tally.common.events.EventDecodingException;
import dev.tally.common.events.Lane;
import dev.tally.events.Event;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LoadGeneratorTest {

  private static final long RECORDS = 50_000;
  private static final GeneratorOptions OPTIONS =
      GeneratorOptions.defaults().withRecords(RECORDS).withFractions(0.05, 0.05, 0.02, 0.03);

  private final EventCodec codec = new EventCodec();

  private static List<GeneratedRecord> generate(GeneratorOptions options) {
    List<GeneratedRecord> records = new ArrayList<>();
    new LoadGenerator(options).forEachRemaining(records::add);
    return records;
  }

  @Test
  void sameSeedAndOptionsGiveTheSameBytes() {
    List<GeneratedRecord> first = generate(OPTIONS);
    List<GeneratedRecord> second = generate(OPTIONS);

    assertThat(second).hasSameSizeAs(first);
    for (int i = 0; i < first.size(); i++) {
      assertThat(second.get(i).topic()).isEqualTo(first.get(i).topic());
      assertThat(second.get(i).key()).isEqualTo(first.get(i).key());
      assertThat(second.get(i).value()).as("record %d", i).isEqualTo(first.get(i).value());
    }
  }

  @Test
  void anotherSeedGivesOtherBytes() {
    List<GeneratedRecord> first = generate(OPTIONS.withRecords(100));
    List<GeneratedRecord> other = generate(OPTIONS.withRecords(100).withSeed(43));

    assertThat(Arrays.equals(first.get(0).value(), other.get(0).value())).isFalse();
  }

  @Test
  void summaryCountsWhatWasGeneratedAndFractionsAreNearTheOptions() {
    LoadGenerator generator = new LoadGenerator(OPTIONS);
    Map<RecordKind, Long> seen = new HashMap<>();
    generator.forEachRemaining(r -> seen.merge(r.kind(), 1L, Long::sum));
    GeneratorSummary summary = generator.summary();

    assertThat(summary.records()).isEqualTo(RECORDS);
    assertThat(summary.byKind()).isEqualTo(seen);
    assertThat(summary.distinctEvents() + summary.duplicates() + summary.malformed())
        .isEqualTo(RECORDS);
    assertThat(summary.duplicates() / (double) RECORDS).isCloseTo(0.05, within(0.01));
    assertThat(summary.malformed() / (double) RECORDS).isCloseTo(0.03, within(0.01));
    assertThat(summary.count(RecordKind.LATE) / (double) RECORDS).isCloseTo(0.02, within(0.01));
    assertThat(summary.count(RecordKind.OUT_OF_ORDER) / (double) RECORDS)
        .isCloseTo(0.05, within(0.01));
    assertThat(summary.eventsByType().values().stream().mapToLong(Long::longValue).sum())
        .isEqualTo(summary.distinctEvents());
  }

  @Test
  void validRecordsDecodeToTheirEventAndMalformedOnesFailWithTheRightReason() throws Exception {
    for (GeneratedRecord record : generate(OPTIONS)) {
      switch (record.kind()) {
        case MALFORMED_RANDOM ->
            assertThatThrownBy(() -> codec.decode(record.value()))
                .isInstanceOf(EventDecodingException.class);
        case MALFORMED_TRUNCATED ->
            assertThatThrownBy(() -> codec.decode(record.value()))
                .isInstanceOfSatisfying(
                    EventDecodingException.class,
                    e ->
                        assertThat(e.reason())
                            .isIn(
                                EventDecodingException.Reason.CORRUPT,
                                EventDecodingException.Reason.BAD_HEADER));
        case MALFORMED_UNKNOWN_SCHEMA ->
            assertThatThrownBy(() -> codec.decode(record.value()))
                .isInstanceOfSatisfying(
                    EventDecodingException.class,
                    e ->
                        assertThat(e.reason())
                            .isEqualTo(EventDecodingException.Reason.UNKNOWN_SCHEMA));
        default -> {
          Event decoded = codec.decode(record.value());
          assertThat(decoded).isEqualTo(record.event());
          assertThat(record.key()).isEqualTo(decoded.getUserId());
          assertThat(record.topic()).isEqualTo(Lane.of(decoded.getType()).topic(""));
        }
      }
    }
  }

  @Test
  void duplicatesRepeatAnEarlierEventSometimesLongAfter() {
    List<GeneratedRecord> records = generate(OPTIONS);
    Map<String, Integer> firstSeenAt = new HashMap<>();
    long longAfter = 0;
    for (int i = 0; i < records.size(); i++) {
      GeneratedRecord record = records.get(i);
      if (record.kind().malformed()) {
        continue;
      }
      String id = record.event().getEventId();
      if (record.kind() == RecordKind.DUPLICATE) {
        assertThat(firstSeenAt).as("duplicate of an event sent before").containsKey(id);
        assertThat(record.value()).isEqualTo(records.get(firstSeenAt.get(id)).value());
        if (i - firstSeenAt.get(id) > 10_000) {
          longAfter++;
        }
      } else {
        assertThat(firstSeenAt.putIfAbsent(id, i)).as("new event %s has a fresh id", id).isNull();
      }
    }
    assertThat(longAfter)
        .as("duplicates sent more than 10,000 records after their original")
        .isPositive();
  }

  @Test
  void lateAndOutOfOrderEventsAreBehindTheClockByTheirBounds() {
    List<GeneratedRecord> records = generate(OPTIONS);
    for (int i = 0; i < records.size(); i++) {
      GeneratedRecord record = records.get(i);
      if (record.kind() != RecordKind.LATE && record.kind() != RecordKind.OUT_OF_ORDER) {
        continue;
      }
      long clock = OPTIONS.start().plus(OPTIONS.spacing().multipliedBy(i)).toEpochMilli();
      Duration behind = Duration.ofMillis(clock - record.event().getOccurredAt().toEpochMilli());
      if (record.kind() == RecordKind.LATE) {
        assertThat(behind).isBetween(OPTIONS.minLateness(), OPTIONS.maxLateness());
      } else {
        assertThat(behind).isBetween(Duration.ofMillis(1), OPTIONS.maxOutOfOrder());
      }
    }
  }

  @Test
  void skewMakesAFewUsersHot() {
    Map<String, Long> perUser = new HashMap<>();
    generate(OPTIONS).stream()
        .filter(r -> r.kind().newEvent())
        .forEach(r -> perUser.merge(r.key(), 1L, Long::sum));
    long hottest = perUser.values().stream().mapToLong(Long::longValue).max().orElseThrow();
    double uniformShare = (double) RECORDS / OPTIONS.users();

    assertThat(perUser.get("user-0")).isEqualTo(hottest);
    assertThat(hottest).isGreaterThan((long) (100 * uniformShare));
  }

  @Test
  void badOptionsSayWhatIsWrong() {
    assertThatThrownBy(() -> GeneratorOptions.defaults().withFractions(0.5, 0.5, 0.2, 0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("must be <= 1");
    assertThatThrownBy(() -> GeneratorOptions.defaults().withKeys(0, 10, 1, 1))
        .hasMessageContaining("users must be >= 1, got 0");
    assertThatThrownBy(() -> GeneratorOptions.defaults().withFractions(-0.1, 0, 0, 0))
        .hasMessageContaining("duplicates must be a fraction in [0, 1], got -0.1");
  }
}
