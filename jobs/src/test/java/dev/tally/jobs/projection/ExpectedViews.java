package dev.tally.jobs.projection;

import dev.tally.common.generator.RecordKind;
import dev.tally.events.Event;
import dev.tally.events.EventType;
import dev.tally.events.TaskCompleted;
import dev.tally.jobs.views.ActivityView;
import dev.tally.jobs.views.LeaderboardView;
import dev.tally.jobs.views.UserScoreView;
import java.time.Instant;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The views computed the plain way, straight from the generated records, independently of the job's
 * code: every distinct event counts once, malformed records never, and late events (the generator's
 * LATE kind, far beyond the job's allowed lateness) everywhere but in activity.
 */
final class ExpectedViews {

  /** The default rule table, restated here on purpose rather than read from the job's code. */
  static final Map<EventType, Long> POINTS =
      Map.of(
          EventType.CHECKIN,
          10L,
          EventType.QR_SCAN,
          25L,
          EventType.TASK_COMPLETED,
          50L,
          EventType.DAILY_BONUS,
          100L,
          EventType.PURCHASE,
          20L);

  final Map<String, Map<String, Long>> userScore = new TreeMap<>();
  final Map<String, Map<String, Long>> leaderboard = new TreeMap<>();
  final Map<String, Map<String, Long>> activity = new TreeMap<>();

  /**
   * Source coordinates ("topic/partition/offset") of every record the dead-letter topic must hold.
   */
  final Set<String> deadLetters = new HashSet<>();

  static ExpectedViews fold(Iterable<ProducedLog.Sent> log) {
    ExpectedViews expected = new ExpectedViews();
    Set<String> seen = new HashSet<>();
    for (ProducedLog.Sent sent : log) {
      RecordKind kind = sent.record().kind();
      if (kind.malformed()) {
        expected.deadLetters.add(coordinates(sent.topic(), sent.partition(), sent.offset()));
        continue;
      }
      Event event = sent.record().event();
      if (!seen.add(event.getEventId())) {
        continue;
      }
      long points =
          event.getPayload() instanceof TaskCompleted task && task.getPoints() != null
              ? task.getPoints()
              : POINTS.get(event.getType());
      long occurredAt = event.getOccurredAt().toEpochMilli();

      Map<String, Long> score =
          expected.userScore.computeIfAbsent(event.getUserId(), u -> new TreeMap<>());
      score.merge("points", points, Long::sum);
      score.merge("events", 1L, Long::sum);
      score.merge("last_activity_ms", occurredAt, Math::max);

      if (event.getHuntId() != null) {
        Map<String, Long> standing =
            expected.leaderboard.computeIfAbsent(
                event.getHuntId() + "|" + event.getUserId(), k -> new TreeMap<>());
        standing.merge("points", points, Long::sum);
        standing.merge("events", 1L, Long::sum);
      }

      if (kind == RecordKind.LATE) {
        expected.deadLetters.add(coordinates(sent.topic(), sent.partition(), sent.offset()));
      } else {
        String minute =
            event.getType().name()
                + "|"
                + Instant.ofEpochMilli(Math.floorDiv(occurredAt, 60_000L) * 60_000L);
        expected
            .activity
            .computeIfAbsent(minute, k -> new TreeMap<>())
            .merge("count", 1L, Long::sum);
      }
    }
    return expected;
  }

  /** Every view by name, as the job names them. */
  Map<String, Map<String, Map<String, Long>>> byView() {
    return Map.of(
        UserScoreView.NAME,
        userScore,
        LeaderboardView.NAME,
        leaderboard,
        ActivityView.NAME,
        activity);
  }

  static String coordinates(String topic, int partition, long offset) {
    return topic + "/" + partition + "/" + offset;
  }
}
