package dev.tally.jobs.projection;

import static dev.tally.jobs.TestEvents.HUNT_1;
import static dev.tally.jobs.TestEvents.T0;
import static dev.tally.jobs.TestEvents.USER_1;
import static dev.tally.jobs.TestEvents.USER_2;
import static dev.tally.jobs.TestEvents.checkIn;
import static dev.tally.jobs.TestEvents.event;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.groups.Tuple.tuple;

import dev.tally.common.views.Partial;
import dev.tally.common.views.ViewUpdate;
import dev.tally.jobs.decode.DeadLetter;
import dev.tally.jobs.decode.FoldEvent;
import dev.tally.jobs.views.ActivityView;
import dev.tally.jobs.views.CountDelta;
import dev.tally.jobs.views.LeaderboardView;
import dev.tally.jobs.views.PointsRules;
import dev.tally.jobs.views.UserScoreView;
import dev.tally.jobs.views.UserView;
import dev.tally.jobs.views.View;
import dev.tally.jobs.views.ViewContext;
import dev.tally.jobs.views.Views;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.apache.flink.state.rocksdb.RocksDBOptions;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;

/** The lane's projection operator, on RocksDB as in the job. */
class ProjectLaneTest {

  private static final ViewContext CONTEXT =
      new ViewContext(PointsRules.defaults(), Duration.ofSeconds(30), "live", "p0");
  private static final Duration HORIZON = Duration.ofDays(7);
  private static final Duration GRACE = Duration.ofMinutes(1);
  private static final int BUNDLE = 100;
  private static final long DELAY_MS = 5;
  private static final int ACTIVITY_BIT = 1 << position(ActivityView.NAME);

  /** A view's position in {@code Views.all()}: its bit in {@code FoldEvent.refusals}. */
  static int position(String view) {
    List<String> names = Views.all().stream().map(v -> v.name()).toList();
    assertThat(names).contains(view);
    return names.indexOf(view);
  }

  /** A harness not yet opened, so state can be restored into it first. */
  private static KeyedOneInputStreamOperatorTestHarness<String, FoldEvent, ViewUpdate> harness()
      throws Exception {
    var harness =
        new KeyedOneInputStreamOperatorTestHarness<String, FoldEvent, ViewUpdate>(
            new ProjectLane(
                Views.all(), CONTEXT, BUNDLE, Duration.ofMillis(DELAY_MS), HORIZON, GRACE),
            new ByUser(),
            Types.STRING);
    Configuration rocksdb = new Configuration();
    rocksdb.set(RocksDBOptions.USE_MANAGED_MEMORY, false);
    harness.setStateBackend(
        new EmbeddedRocksDBStateBackend()
            .configure(rocksdb, ProjectLaneTest.class.getClassLoader()));
    return harness;
  }

  private static KeyedOneInputStreamOperatorTestHarness<String, FoldEvent, ViewUpdate> opened()
      throws Exception {
    var harness = harness();
    harness.open();
    return harness;
  }

  /** An event read now (its append time is the harness's clock: read live). */
  private static FoldEvent live(FoldEvent event) {
    event.appendTime = 0;
    return event;
  }

  private static List<ViewUpdate> updates(
      KeyedOneInputStreamOperatorTestHarness<String, FoldEvent, ViewUpdate> harness, String view) {
    return harness.extractOutputValues().stream().filter(u -> u.view.equals(view)).toList();
  }

  /** The newest version of every entry written so far: view/key → partial. */
  private static Map<String, String> latest(
      KeyedOneInputStreamOperatorTestHarness<String, FoldEvent, ViewUpdate> harness) {
    Map<String, ViewUpdate> newest = new TreeMap<>();
    for (ViewUpdate update : harness.extractOutputValues()) {
      newest.merge(update.view + "/" + update.key, update, (a, b) -> b.version > a.version ? b : a);
    }
    Map<String, String> partials = new TreeMap<>();
    newest.forEach((key, update) -> partials.put(key, "v" + update.version + " " + update.partial));
    return partials;
  }

  private static List<CountDelta> deltas(
      KeyedOneInputStreamOperatorTestHarness<String, FoldEvent, ViewUpdate> harness) {
    List<CountDelta> deltas = new ArrayList<>();
    var queue = harness.getSideOutput(ProjectLane.COUNTS);
    if (queue != null) {
      queue.forEach(record -> deltas.add(record.getValue()));
    }
    return deltas;
  }

  private static List<DeadLetter> deadLetters(
      KeyedOneInputStreamOperatorTestHarness<String, FoldEvent, ViewUpdate> harness) {
    List<DeadLetter> letters = new ArrayList<>();
    var queue = harness.getSideOutput(ProjectLane.DEAD_LETTERS);
    if (queue != null) {
      queue.forEach(record -> letters.add(record.getValue()));
    }
    return letters;
  }

  /** A view that fails folding one event: a store or a view failing midway through a bundle. */
  private static final class FailsOn implements UserView<Long> {
    private final String eventId;

    FailsOn(String eventId) {
      this.eventId = eventId;
    }

    @Override
    public String name() {
      return "fails-on";
    }

    @Override
    public TypeInformation<Long> stateType() {
      return Types.LONG;
    }

    @Override
    public String part(FoldEvent event) {
      return "";
    }

    @Override
    public boolean onePerUser() {
      return true;
    }

    @Override
    public Long create() {
      return 0L;
    }

    @Override
    public void fold(Long state, FoldEvent event, ViewContext context) {
      if (event.eventId.equals(eventId)) {
        throw new IllegalStateException("fold failed on " + eventId);
      }
    }

    @Override
    public ViewUpdate update(String user, String part, Long state, ViewContext context) {
      return new ViewUpdate(name(), user, context.partialWriter(), 1, Partial.builder(), 0);
    }
  }

  @Test
  void afterAFoldFailsMidBundleTheOperatorTakesNothingMoreAndEmitsNothingMore() throws Exception {
    List<View> views = new ArrayList<>(Views.all());
    views.add(new FailsOn("e2"));
    var harness =
        new KeyedOneInputStreamOperatorTestHarness<String, FoldEvent, ViewUpdate>(
            new ProjectLane(views, CONTEXT, BUNDLE, Duration.ofMillis(DELAY_MS), HORIZON, GRACE),
            new ByUser(),
            Types.STRING);
    harness.open();
    try {
      harness.setProcessingTime(0);
      harness.processElement(live(checkIn("e1", USER_1, T0)), 0);
      harness.processElement(live(checkIn("e2", USER_1, T0.plusSeconds(1))), 0);
      harness.processElement(live(checkIn("e3", USER_2, T0.plusSeconds(2))), 0);
      // The bundle's timer: e1 folded, e2 stored as seen, then the failure (a timer's exception
      // fails the task asynchronously, and Flink may call the operator again meanwhile).
      assertThatThrownBy(() -> harness.setProcessingTime(DELAY_MS))
          .hasStackTraceContaining("fold failed on e2");
      int emitted = harness.extractOutputValues().size();

      assertThatThrownBy(() -> harness.processElement(live(checkIn("e4", USER_2, T0)), 0))
          .hasMessageContaining("takes nothing more");
      assertThatThrownBy(() -> harness.processWatermark(new Watermark(Long.MAX_VALUE)))
          .hasMessageContaining("takes nothing more");
      assertThatThrownBy(() -> harness.prepareSnapshotPreBarrier(1))
          .as("no checkpoint of the cut-off state")
          .hasMessageContaining("takes nothing more");
      assertThat(harness.extractOutputValues()).hasSize(emitted);
    } finally {
      // Closing finishes the operator, which is refused as well; the harness still closes.
      assertThatThrownBy(harness::close).hasStackTraceContaining("takes nothing more");
    }
  }

  @Test
  void eventsFoldWhenTheBundleEmptiesOnItsDelayNotBefore() throws Exception {
    try (var harness = opened()) {
      harness.setProcessingTime(0);
      harness.processElement(live(checkIn("e1", USER_1, T0)), 0);
      harness.processElement(live(checkIn("e2", USER_1, T0.plusSeconds(1))), 0);
      assertThat(harness.extractOutputValues()).as("held in the bundle").isEmpty();

      harness.setProcessingTime(DELAY_MS);

      assertThat(updates(harness, UserScoreView.NAME))
          .as("one update per user and bundle, its version the events folded")
          .extracting(u -> u.key, u -> u.version, u -> u.partial)
          .containsExactly(
              tuple(
                  USER_1,
                  2L,
                  "sum:points=20;sum:events=2;max:last_activity_ms="
                      + T0.plusSeconds(1).toEpochMilli()));
      assertThat(updates(harness, LeaderboardView.NAME))
          .extracting(u -> u.key, u -> u.version, u -> u.rankSet, u -> u.rankMember)
          .containsExactly(tuple(HUNT_1 + "|" + USER_1, 2L, HUNT_1, USER_1));
      assertThat(deltas(harness))
          .extracting(d -> d.view, d -> d.entryKey, d -> d.count)
          .containsExactly(tuple(ActivityView.NAME, "CHECKIN|2026-01-01T00:00:00Z", 2L));
    }
  }

  @Test
  void aFullBundleEmptiesAtOnceAndACheckpointBarrierEmptiesTheRest() throws Exception {
    try (var harness = opened()) {
      for (int i = 0; i < BUNDLE + 1; i++) {
        harness.processElement(live(checkIn("e" + i, "user-" + i, T0)), 0);
      }
      assertThat(updates(harness, UserScoreView.NAME)).hasSize(BUNDLE);

      harness.prepareSnapshotPreBarrier(1);

      assertThat(updates(harness, UserScoreView.NAME)).hasSize(BUNDLE + 1);
    }
  }

  @Test
  void aRepeatedEventIdIsDroppedWithinAndAcrossBundlesAboveAndBelowTheNewestId() throws Exception {
    try (var harness = opened()) {
      // Ids compare as strings: "e5" is the newest; "e3" is new although below it.
      harness.processElement(live(checkIn("e1", USER_1, T0)), 0);
      harness.processElement(live(checkIn("e5", USER_1, T0)), 0);
      harness.processElement(live(checkIn("e1", USER_1, T0)), 0);
      harness.prepareSnapshotPreBarrier(1);
      harness.processElement(live(checkIn("e5", USER_1, T0)), 0);
      harness.processElement(live(checkIn("e3", USER_1, T0)), 0);
      harness.processElement(live(checkIn("e1", USER_2, T0)), 0);
      harness.prepareSnapshotPreBarrier(2);

      assertThat(latest(harness))
          .containsEntry(
              "user_score/" + USER_1,
              "v3 sum:points=30;sum:events=3;max:last_activity_ms=" + T0.toEpochMilli())
          .as("an id is a duplicate per user: another user's e1 counts")
          .containsEntry(
              "user_score/" + USER_2,
              "v1 sum:points=10;sum:events=1;max:last_activity_ms=" + T0.toEpochMilli());
    }
  }

  @Test
  void aRepeatPastTheHorizonInLogTimeCountsAgainAndOneWithinItDoesNotHoweverLateItIsRead()
      throws Exception {
    try (var harness = opened()) {
      harness.setProcessingTime(0);
      harness.processElement(appendedAt(checkIn("e1", USER_1, T0), 1_000), 0);
      harness.prepareSnapshotPreBarrier(1);

      // Read days after the horizon (processing time: timers fire), appended just within it (log
      // time): still a duplicate. Processing time never drops an id.
      harness.setProcessingTime(HORIZON.multipliedBy(3).toMillis());
      harness.processElement(
          appendedAt(checkIn("e1", USER_1, T0), 1_000 + HORIZON.toMillis() - 1), 0);
      harness.prepareSnapshotPreBarrier(2);
      assertThat(updates(harness, UserScoreView.NAME))
          .extracting(u -> u.version)
          .containsExactly(1L);

      harness.processElement(appendedAt(checkIn("e1", USER_1, T0), 1_000 + HORIZON.toMillis()), 0);
      harness.prepareSnapshotPreBarrier(3);
      assertThat(updates(harness, UserScoreView.NAME))
          .as("past the horizon in append time the id counts again")
          .extracting(u -> u.version)
          .containsExactly(1L, 2L);
    }
  }

  private static FoldEvent appendedAt(FoldEvent event, long appendTime) {
    event.appendTime = appendTime;
    return event;
  }

  private static int seenIds(
      KeyedOneInputStreamOperatorTestHarness<String, FoldEvent, ViewUpdate> harness, String user)
      throws Exception {
    return ((ProjectLane) harness.getOperator()).seenIds(user);
  }

  /** When an id first seen at append time 1,000 may leave: its partition's clock at this. */
  private static final long EXPIRED = 1_000 + HORIZON.plus(GRACE).toMillis();

  /** … and a sweep step (an eighth of the horizon) later, a sweep takes it. */
  private static final long SWEPT = EXPIRED + HORIZON.toMillis() / 8;

  @Test
  void anIdLeavesTheStateOnlyOnceItsPartitionsLogClockHasPassedHorizonAndGrace() throws Exception {
    try (var harness = opened()) {
      harness.processElement(appendedAt(checkIn("e1", USER_1, T0), 1_000), 0);
      harness.prepareSnapshotPreBarrier(1);
      // Another user's records move partition 0's clock to just before the sweep; user 1 reads on.
      harness.processElement(appendedAt(checkIn("b1", USER_2, T0), SWEPT - 1), 0);
      harness.processElement(appendedAt(checkIn("e2", USER_1, T0), SWEPT - 1), 0);
      harness.prepareSnapshotPreBarrier(2);
      assertThat(seenIds(harness, USER_1)).as("not yet").isEqualTo(2);

      harness.processElement(appendedAt(checkIn("e3", USER_1, T0), SWEPT), 0);
      harness.prepareSnapshotPreBarrier(3);
      assertThat(seenIds(harness, USER_1)).as("e1 swept; e2, e3 kept").isEqualTo(2);
    }
  }

  @Test
  void aQuietUsersIdsLeaveByTimerButOnlyOnceTheLogHasMovedOn() throws Exception {
    try (var harness = opened()) {
      harness.setProcessingTime(0);
      harness.processElement(appendedAt(checkIn("e1", USER_1, T0), 1_000), 0);
      harness.prepareSnapshotPreBarrier(1);

      // Processing time alone (the job stopped, or behind the log): timers fire, nothing leaves.
      harness.setProcessingTime(HORIZON.multipliedBy(10).toMillis());
      assertThat(seenIds(harness, USER_1)).isEqualTo(1);

      // Partition 0's log moves on (another user); user 1 stays quiet; the next timer sweeps.
      harness.processElement(appendedAt(checkIn("b1", USER_2, T0), SWEPT), 0);
      harness.prepareSnapshotPreBarrier(2);
      harness.setProcessingTime(HORIZON.multipliedBy(12).toMillis());
      assertThat(seenIds(harness, USER_1)).isZero();
    }
  }

  @Test
  void partitionClocksSurviveARestoreSoSweepsGoOnWhereTheyWere() throws Exception {
    OperatorSubtaskState snapshot;
    try (var harness = opened()) {
      harness.setProcessingTime(0);
      harness.processElement(appendedAt(checkIn("e1", USER_1, T0), 1_000), 0);
      harness.prepareSnapshotPreBarrier(1);
      // The log moves on after user 1's last event: only user 1's timer can sweep it.
      harness.processElement(appendedAt(checkIn("b1", USER_2, T0), SWEPT), 0);
      harness.prepareSnapshotPreBarrier(2);
      snapshot = harness.snapshot(2, 2);
    }
    try (var restored = harness()) {
      restored.initializeState(snapshot);
      restored.open();
      assertThat(seenIds(restored, USER_1)).isEqualTo(1);
      restored.setProcessingTime(HORIZON.multipliedBy(12).toMillis());
      assertThat(seenIds(restored, USER_1)).as("the restored clock lets the timer sweep").isZero();
    }
  }

  @Test
  void aRefusedEventIsDeadLetteredOnceAndOnlyTheRefusingViewSkipsIt() throws Exception {
    try (var harness = opened()) {
      FoldEvent late = live(checkIn("e1", USER_1, T0));
      late.refusals = ACTIVITY_BIT;
      late.refusalReason = "late";
      late.refusalError = "too late";
      late.topic = "events.p0";
      late.partition = 3;
      late.offset = 42;
      late.raw = new byte[] {1, 2, 3};
      harness.processElement(late, 0);
      harness.processElement(late.copy(), 0);
      harness.prepareSnapshotPreBarrier(1);

      assertThat(deadLetters(harness))
          .as("once: its repeat is a duplicate")
          .extracting(
              d -> d.reason, d -> d.sourceTopic, d -> d.sourcePartition, d -> d.sourceOffset)
          .containsExactly(tuple("late", "events.p0", 3, 42L));
      assertThat(deadLetters(harness).get(0).value).containsExactly(1, 2, 3);
      assertThat(updates(harness, UserScoreView.NAME))
          .extracting(u -> u.version)
          .containsExactly(1L);
      assertThat(deltas(harness)).as("activity refused it").isEmpty();
    }
  }

  @Test
  void countDeltasSumTheWholeBundlePerEntry() throws Exception {
    try (var harness = opened()) {
      harness.processElement(live(checkIn("e1", USER_1, T0)), 0);
      harness.processElement(live(checkIn("e2", USER_2, T0.plusSeconds(30))), 0);
      harness.processElement(live(event("e3", "QR_SCAN", USER_2, HUNT_1, T0)), 0);
      harness.processElement(live(checkIn("e4", USER_2, T0.plusSeconds(60))), 0);
      harness.prepareSnapshotPreBarrier(1);

      assertThat(deltas(harness))
          .extracting(d -> d.entryKey, d -> d.count)
          .containsExactlyInAnyOrder(
              tuple("CHECKIN|2026-01-01T00:00:00Z", 2L),
              tuple("QR_SCAN|2026-01-01T00:00:00Z", 1L),
              tuple("CHECKIN|2026-01-01T00:01:00Z", 1L));
    }
  }

  @Test
  void aWatermarkWaitsForTheBundleSoEveryEventBeforeItIsCountedFirst() throws Exception {
    try (var harness = opened()) {
      harness.processElement(live(checkIn("e1", USER_1, T0)), 0);
      harness.processWatermark(new Watermark(T0.toEpochMilli()));
      assertThat(harness.getOutput()).as("the watermark waits").isEmpty();

      harness.setProcessingTime(DELAY_MS);

      List<Object> output = new ArrayList<>(harness.getOutput());
      assertThat(output.get(output.size() - 1)).isEqualTo(new Watermark(T0.toEpochMilli()));
      assertThat(deltas(harness)).hasSize(1);
      assertThat(output.stream().filter(o -> o instanceof StreamRecord<?>)).isNotEmpty();
    }
  }

  @Test
  void stateSurvivesARestoreDuplicatesStayDroppedAndVersionsGoOn() throws Exception {
    OperatorSubtaskState snapshot;
    try (var harness = opened()) {
      harness.processElement(live(checkIn("e1", USER_1, T0)), 0);
      harness.processElement(live(checkIn("e2", USER_1, T0)), 0);
      harness.prepareSnapshotPreBarrier(1);
      snapshot = harness.snapshot(1, 1);
    }
    try (var restored = harness()) {
      restored.initializeState(snapshot);
      restored.open();
      restored.processElement(live(checkIn("e2", USER_1, T0)), 0);
      restored.processElement(live(checkIn("e3", USER_1, T0)), 0);
      restored.prepareSnapshotPreBarrier(2);

      assertThat(updates(restored, UserScoreView.NAME))
          .extracting(u -> u.version, u -> u.partial)
          .containsExactly(
              tuple(3L, "sum:points=30;sum:events=3;max:last_activity_ms=" + T0.toEpochMilli()));
    }
  }

  @Test
  void aUserInMoreHuntsThanTheRecordListsKeepsEveryStanding() throws Exception {
    int hunts = ProjectLane.LISTED_PARTS * 2;
    try (var harness = opened()) {
      for (int round = 0; round < 3; round++) {
        for (int hunt = 0; hunt < hunts; hunt++) {
          String id = "e-" + round + "-" + (1000 + hunt);
          harness.processElement(live(event(id, "QR_SCAN", USER_1, "hunt-" + hunt, T0)), 0);
        }
        harness.prepareSnapshotPreBarrier(round + 1);
      }

      Map<String, String> latest = latest(harness);
      for (int hunt = 0; hunt < hunts; hunt++) {
        assertThat(latest)
            .containsEntry(
                "leaderboard/hunt-" + hunt + "|" + USER_1, "v3 sum:points=75;sum:events=3");
      }
    }
  }
}
