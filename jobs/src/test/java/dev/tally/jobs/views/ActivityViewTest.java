package dev.tally.jobs.views;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import org.junit.jupiter.api.Test;

class ActivityViewTest {

  @Test
  void entryKeysNameTheIsoMinuteAndReadBackToIt() {
    long at = Instant.parse("2026-01-01T00:05:42.123Z").toEpochMilli();
    String key = ActivityView.entryKey("CHECKIN", at);
    assertThat(key).isEqualTo("CHECKIN|2026-01-01T00:05:00Z");
    assertThat(ActivityView.minuteOfKey(key))
        .isEqualTo(Instant.parse("2026-01-01T00:05:00Z").toEpochMilli());
  }

  @Test
  void cachedMinuteTextsNeverServeAnotherMinuteSharingTheirSlot() {
    // 4096 minutes apart: the same cache slot, different texts.
    long first = Instant.parse("2026-01-01T00:00:00Z").toEpochMilli();
    long second = first + 4096 * ActivityView.MINUTE_MS;
    assertThat(ActivityView.entryKey("QR_SCAN", first)).endsWith("|2026-01-01T00:00:00Z");
    assertThat(ActivityView.entryKey("QR_SCAN", second))
        .endsWith("|" + Instant.ofEpochMilli(second));
    assertThat(ActivityView.entryKey("QR_SCAN", first)).endsWith("|2026-01-01T00:00:00Z");
  }

  @Test
  void minutesBeforeTheEpochAndFarYearsRoundTrip() {
    for (String minute :
        new String[] {"1969-12-31T23:59:00Z", "2400-02-29T12:30:00Z", "+12026-01-01T00:00:00Z"}) {
      long start = Instant.parse(minute).toEpochMilli();
      String key = ActivityView.entryKey("PURCHASE", start + 59_999);
      assertThat(ActivityView.minuteOfKey(key)).as(key).isEqualTo(start);
    }
  }
}
