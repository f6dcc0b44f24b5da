package dev.tally.jobs.projection;

import dev.tally.common.views.ViewUpdate;
import dev.tally.jobs.decode.DeadLetter;
import dev.tally.jobs.decode.FoldEvent;
import dev.tally.jobs.dedup.EventIdSerializer;
import dev.tally.jobs.views.CountDelta;
import dev.tally.jobs.views.CountView;
import dev.tally.jobs.views.UserView;
import dev.tally.jobs.views.View;
import dev.tally.jobs.views.ViewContext;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.operators.ProcessingTimeService.ProcessingTimeCallback;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.common.typeutils.base.LongSerializer;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.state.StateInitializationContext;
import org.apache.flink.runtime.state.StateSnapshotContext;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.VoidNamespaceSerializer;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.InternalTimer;
import org.apache.flink.streaming.api.operators.InternalTimerService;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.api.operators.Triggerable;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.types.Row;
import org.apache.flink.util.OutputTag;

/**
 * One lane's projection, keyed by user: drops duplicate event ids, folds every {@link UserView} and
 * pre-counts every {@link CountView}, in bundles.
 *
 * <p>Events are held in a bundle of up to {@code bundleSize} events or {@code bundleDelay} (up to 5
 * s while the events are more than ten seconds behind the log: catching up, nobody waits for them,
 * and fuller bundles collapse more), and always emptied before a checkpoint barrier and the end of
 * input, so the bundle is never state and nothing in it is lost on failure. A watermark waits for
 * the bundle to be emptied, so every event before it is counted before it moves on. Emptying it
 * goes user by user: each user's events, in their Kafka order, are checked against the user's seen
 * ids and folded into each view's state, read and written once per user and part per bundle; then
 * one update per changed part is emitted, and one {@link CountDelta} per count-view entry for the
 * whole bundle ({@link #COUNTS}). Hot users and hot entries collapse: the state and the stores see
 * far fewer accesses than events.
 *
 * <p>State per user: one record (the user's greatest event id so far, their partition, when their
 * oldest id expires, and the state of every view kept one per user), the seen ids with the append
 * time each was first seen at, and per multi-part view a map of parts.
 *
 * <p>Dedup: an id is a duplicate when it was first seen less than {@code horizon} earlier in log
 * time (Kafka append time); a repeat past the horizon counts again, live and in any replay alike.
 * The seen ids live in RocksDB map state keyed by user (so a user's events stay in Kafka order into
 * the views). They are dropped by log time too, never by processing time: an id goes once its
 * partition's log clock (the greatest append time read from it) has passed its first sighting by
 * {@code horizon + grace} — from then on any record of that partition is appended later, so a
 * repeat could only count again anyway ({@code grace} covers a broker clock stepping back). A
 * user's ids are swept when the user's events are folded and the oldest has expired by a sweep step
 * (an eighth of the horizon), or by a processing-time timer for users who went quiet; the partition
 * clocks are checkpointed with the operator.
 *
 * <p>A refused event (see {@link View#refusal}) that is not a duplicate goes to {@link
 * #DEAD_LETTERS} with its reason; the views that refused it skip it, the others fold it.
 *
 * <p>Counts {@code tally.duplicatesDropped} and {@code tally.reason.<reason>.deadLettered}.
 */
public final class ProjectLane extends AbstractStreamOperator<ViewUpdate>
    implements OneInputStreamOperator<FoldEvent, ViewUpdate>,
        ProcessingTimeCallback,
        Triggerable<String, VoidNamespace> {

  private static final long serialVersionUID = 1L;

  public static final OutputTag<CountDelta> COUNTS = new OutputTag<>("count-deltas") {};
  public static final OutputTag<DeadLetter> DEAD_LETTERS = new OutputTag<>("refused") {};

  public static final String SEEN_STATE = "seen-event-ids";

  /** Events appended longer ago than this are being caught up on, not read live. */
  static final long BEHIND_MS = 10_000;

  /**
   * How long a bundle of caught-up events may wait to fill up. 5 s measured 5.6 % faster than this
   * 250 ms once (BENCHMARKS.md, 2026-12-03), and within the noise when measured again once bounded
   * runs checkpointed to their end (the earlier gain was the A/B's JIT-cold first round): kept.
   */
  static final long CATCH_UP_BUNDLE_DELAY_MS = 250;

  public static final String USER_STATE = "user";
  static final String CLOCKS_STATE = "partition-append-clocks";
  static final String PARTITION_FIELD = "partition";
  static final String SWEEP_FIELD = "sweep-at";

  /** User record fields before the views': head, partition, sweep-at. */
  private static final int HEAD = 0;

  private static final int PARTITION = 1;
  private static final int SWEEP_AT = 2;

  /** The most parts a user record lists (see {@link #indexField}). */
  static final int LISTED_PARTS = 64;

  static final String HEAD_FIELD = "head";

  private final List<View> views;
  private final ViewContext context;
  private final int bundleSize;
  private final long bundleDelayMs;
  private final long horizonMs;
  private final long graceMs;
  private final long sweepStepMs;

  private transient MapState<String, Long> seen;

  private transient InternalTimerService<VoidNamespace> sweeps;

  /** Per partition, the greatest append time read so far: its log clock. */
  private transient PartitionClocks appendClock;

  /**
   * Per user: the greatest event id seen (the dedup head) and the state of every view kept one per
   * user, in one value: {@code head, <view>, <view>, …}.
   */
  private transient ValueState<Row> userRecord;

  /** Per multi-part user view (by its index in {@link #views}): its parts, map state per user. */
  private transient MapState<String, Object>[] partStates;

  private transient int[] userViews;
  private transient int[] countViews;

  /** Per view: its field in the user record, or -1 when it is not kept there. */
  private transient int[] recordField;

  /**
   * Per multi-part view: the field of the user record listing the user's parts (the sorted hash
   * codes of their keys), or -1. A part whose hash is not listed has never been stored, so its
   * first event needs no state lookup. A user with more than {@link #LISTED_PARTS} parts is listed
   * as an empty array: all of their parts are looked up (for such users most parts exist anyway),
   * and the record stays small.
   */
  private transient int[] indexField;

  /** Per multi-part view: the hashes of parts the current user gets in this bundle. */
  private transient int[][] newParts;

  private transient int[] newPartCount;

  private transient int recordArity;

  private transient FoldEvent[] bundle;
  private transient int[] next;
  private transient int size;
  private transient boolean timerPending;

  /** A watermark that arrived while the bundle held events: sent on once the bundle is empty. */
  private transient Watermark heldWatermark;

  /** Per user view: the parts of the user being folded, with their state. Reused per user. */
  private transient Map<String, Part>[] parts;

  /** Per count view: entry → [count, greatest append time] for the whole bundle. */
  private transient Map<String, long[]>[] counts;

  /**
   * What made a bundle's folding fail, once one has. Flink may call the operator again before the
   * task stops (an exception in a timer fails the task asynchronously), and the transient state of
   * a fold cut off midway (the bundle, the parts, a user's ids stored before the user's record)
   * would fold events twice or into another user, at versions the stores then keep.
   */
  private transient Exception broken;

  private transient Counter duplicates;
  private transient MetricGroup metrics;
  private transient Map<String, Counter> refused;

  /** One part of a user's state while a bundle folds into it. */
  private static final class Part {
    final Object state;
    long sourceTimestamp;

    Part(Object state) {
      this.state = state;
    }
  }

  /**
   * @param views the lane's views, in {@code Views.all()} order (bit i of refusals = view i)
   * @param horizon how long an id is remembered, in log time
   * @param grace how much longer than the horizon, in log time, ids stay in state (a broker whose
   *     clock steps back appends later records with earlier times)
   */
  public ProjectLane(
      List<View> views,
      ViewContext context,
      int bundleSize,
      Duration bundleDelay,
      Duration horizon,
      Duration grace) {
    this.views = List.copyOf(views);
    this.context = context;
    this.bundleSize = bundleSize;
    this.bundleDelayMs = bundleDelay.toMillis();
    this.horizonMs = horizon.toMillis();
    this.graceMs = grace.toMillis();
    this.sweepStepMs = Math.max(1, horizonMs / 8);
  }

  @Override
  public void initializeState(StateInitializationContext initialization) throws Exception {
    super.initializeState(initialization);
    appendClock = new PartitionClocks();
    appendClock.initialize(
        initialization.getOperatorStateStore(), CLOCKS_STATE, initialization.isRestored());
  }

  @Override
  public void snapshotState(StateSnapshotContext snapshot) throws Exception {
    super.snapshotState(snapshot);
    appendClock.snapshot();
  }

  @Override
  @SuppressWarnings("unchecked")
  public void open() throws Exception {
    super.open();
    seen =
        getRuntimeContext()
            .getMapState(
                new MapStateDescriptor<>(
                    SEEN_STATE, EventIdSerializer.INSTANCE, LongSerializer.INSTANCE));
    sweeps = getInternalTimerService("sweep-seen-ids", VoidNamespaceSerializer.INSTANCE, this);

    List<Integer> users = new ArrayList<>();
    List<Integer> counters = new ArrayList<>();
    List<String> recordNames = new ArrayList<>(List.of(HEAD_FIELD, PARTITION_FIELD, SWEEP_FIELD));
    List<TypeInformation<?>> recordTypes =
        new ArrayList<>(List.of(Types.STRING, Types.INT, Types.LONG));
    partStates = new MapState[views.size()];
    recordField = new int[views.size()];
    Arrays.fill(recordField, -1);
    indexField = new int[views.size()];
    Arrays.fill(indexField, -1);
    newParts = new int[views.size()][];
    newPartCount = new int[views.size()];
    parts = new Map[views.size()];
    counts = new Map[views.size()];
    for (int i = 0; i < views.size(); i++) {
      View view = views.get(i);
      if (view instanceof UserView<?> user) {
        users.add(i);
        parts[i] = new HashMap<>();
        if (user.onePerUser()) {
          recordField[i] = recordNames.size();
          recordNames.add("view-" + view.name());
          recordTypes.add(user.stateType());
        } else {
          indexField[i] = recordNames.size();
          recordNames.add("parts-" + view.name());
          recordTypes.add(PrimitiveArrayTypeInfo.INT_PRIMITIVE_ARRAY_TYPE_INFO);
          newParts[i] = new int[16];
          partStates[i] =
              getRuntimeContext()
                  .getMapState(
                      new MapStateDescriptor<>(
                          "view-" + view.name(),
                          Types.STRING,
                          ((UserView<Object>) user).stateType()));
        }
      } else if (view instanceof CountView) {
        counters.add(i);
        counts[i] = new HashMap<>();
      } else {
        throw new IllegalArgumentException(
            "view " + view.name() + " is neither a UserView nor a CountView");
      }
    }
    recordArity = recordNames.size();
    userRecord =
        getRuntimeContext()
            .getState(
                new ValueStateDescriptor<>(
                    USER_STATE,
                    Types.ROW_NAMED(
                        recordNames.toArray(String[]::new),
                        recordTypes.toArray(TypeInformation[]::new))));
    userViews = users.stream().mapToInt(Integer::intValue).toArray();
    countViews = counters.stream().mapToInt(Integer::intValue).toArray();
    bundle = new FoldEvent[bundleSize];
    next = new int[bundleSize];
    metrics = getRuntimeContext().getMetricGroup().addGroup("tally");
    duplicates = metrics.counter("duplicatesDropped");
    refused = new HashMap<>();
  }

  @Override
  public void processElement(StreamRecord<FoldEvent> element) throws Exception {
    refuseIfBroken();
    // Held until the bundle is emptied: copy, as the runtime may reuse the instance.
    bundle[size++] = element.getValue().copy();
    if (size >= bundleSize) {
      emptyBundle();
    } else if (!timerPending) {
      timerPending = true;
      long now = getProcessingTimeService().getCurrentProcessingTime();
      // Behind the log (catching up, replaying) nobody waits for these events: let the bundle
      // fill up, so hot users collapse. Live, the bundle waits bundleDelay at most.
      boolean behind = now - element.getValue().appendTime > BEHIND_MS;
      getProcessingTimeService()
          .registerTimer(
              now + (behind ? Math.max(bundleDelayMs, CATCH_UP_BUNDLE_DELAY_MS) : bundleDelayMs),
              this);
    }
  }

  @Override
  public void onProcessingTime(long timestamp) throws Exception {
    refuseIfBroken();
    timerPending = false;
    emptyBundle();
  }

  @Override
  public void processWatermark(Watermark mark) throws Exception {
    refuseIfBroken();
    // Everything read before a watermark is counted before the watermark moves on (count views
    // drop entries by it): with events in the bundle, it waits for the bundle.
    if (size == 0) {
      super.processWatermark(mark);
    } else {
      heldWatermark = mark;
    }
  }

  @Override
  public void prepareSnapshotPreBarrier(long checkpointId) throws Exception {
    super.prepareSnapshotPreBarrier(checkpointId);
    emptyBundle();
  }

  @Override
  public void finish() throws Exception {
    emptyBundle();
    super.finish();
  }

  /** Folds the bundle user by user, emits its updates and count deltas, and clears it. */
  private void emptyBundle() throws Exception {
    refuseIfBroken();
    if (size == 0) {
      return;
    }
    try {
      foldBundle();
    } catch (Exception e) {
      broken = e;
      throw e;
    }
  }

  private void refuseIfBroken() {
    if (broken != null) {
      throw new IllegalStateException(
          "the projection failed folding a bundle and takes nothing more until the job restarts"
              + " from its checkpoint: "
              + broken,
          broken);
    }
  }

  private void foldBundle() throws Exception {
    // Chain each user's events in arrival (= Kafka) order: head and tail per user.
    Map<String, int[]> users = new HashMap<>(size * 2);
    for (int i = 0; i < size; i++) {
      observe(bundle[i].partition, bundle[i].appendTime);
      next[i] = -1;
      int[] ends = users.get(bundle[i].userId);
      if (ends == null) {
        users.put(bundle[i].userId, new int[] {i, i});
      } else {
        next[ends[1]] = i;
        ends[1] = i;
      }
    }
    for (Map.Entry<String, int[]> user : users.entrySet()) {
      setCurrentKey(user.getKey());
      foldUser(user.getKey(), user.getValue()[0]);
    }
    for (int v : countViews) {
      String name = views.get(v).name();
      for (Map.Entry<String, long[]> entry : counts[v].entrySet()) {
        output.collect(
            COUNTS,
            new StreamRecord<>(
                new CountDelta(name, entry.getKey(), entry.getValue()[0], entry.getValue()[1])));
      }
      counts[v].clear();
    }
    Arrays.fill(bundle, 0, size, null);
    size = 0;
    if (heldWatermark != null) {
      Watermark mark = heldWatermark;
      heldWatermark = null;
      super.processWatermark(mark);
    }
  }

  @SuppressWarnings("unchecked")
  private void foldUser(String user, int head) throws Exception {
    Row record = userRecord.value();
    Arrays.fill(newPartCount, 0);
    String newest = record == null ? null : (String) record.getField(HEAD);
    Long sweepAt = record == null ? null : (Long) record.getField(SWEEP_AT);
    int partition = bundle[head].partition;
    boolean changed = false;
    for (int i = head; i != -1; i = next[i]) {
      FoldEvent event = bundle[i];
      // Above the user's greatest id so far it cannot have been seen: no lookup. Time-ordered ids
      // (UUIDv7, ULID, snowflakes) mostly are; others always take the lookup.
      boolean above = newest == null || event.eventId.compareTo(newest) > 0;
      Long firstSeen = above ? null : seen.get(event.eventId);
      if (firstSeen != null && event.appendTime - firstSeen < horizonMs) {
        duplicates.inc();
        continue;
      }
      seen.put(event.eventId, event.appendTime);
      long expires = event.appendTime + horizonMs + graceMs;
      sweepAt = sweepAt == null ? expires : Math.min(sweepAt, expires);
      if (above) {
        newest = event.eventId;
      }
      changed = true;
      if (event.refusals != 0) {
        deadLetter(event);
      }
      for (int v : userViews) {
        if ((event.refusals & (1 << v)) != 0) {
          continue;
        }
        UserView<Object> view = (UserView<Object>) views.get(v);
        String partKey = view.part(event);
        if (partKey == null) {
          continue;
        }
        Part part = parts[v].get(partKey);
        if (part == null) {
          Object state;
          if (recordField[v] >= 0) {
            state = record == null ? null : record.getField(recordField[v]);
          } else if (listed(record, v, partKey.hashCode())) {
            state = partStates[v].get(partKey);
          } else {
            state = null;
            addNewPart(v, partKey.hashCode());
          }
          part = new Part(state != null ? state : view.create());
          parts[v].put(partKey, part);
        }
        view.fold(part.state, event, context);
        part.sourceTimestamp = Math.max(part.sourceTimestamp, event.appendTime);
      }
      for (int v : countViews) {
        if ((event.refusals & (1 << v)) != 0) {
          continue;
        }
        String entry = ((CountView) views.get(v)).entryKey(event);
        if (entry != null) {
          long[] count = counts[v].computeIfAbsent(entry, e -> new long[2]);
          count[0]++;
          count[1] = Math.max(count[1], event.appendTime);
        }
      }
    }
    if (!changed) {
      return;
    }
    Row updated = record == null ? new Row(recordArity) : record;
    updated.setField(HEAD, newest);
    updated.setField(PARTITION, partition);
    Long stored = record == null ? null : (Long) record.getField(SWEEP_AT);
    updated.setField(SWEEP_AT, sweepIfDue(sweepAt, partition, stored));
    for (int v : userViews) {
      if (indexField[v] >= 0 && newPartCount[v] > 0) {
        updated.setField(indexField[v], withNewParts((int[]) updated.getField(indexField[v]), v));
      }
    }
    for (int v : userViews) {
      UserView<Object> view = (UserView<Object>) views.get(v);
      for (Map.Entry<String, Part> entry : parts[v].entrySet()) {
        Part part = entry.getValue();
        if (recordField[v] >= 0) {
          updated.setField(recordField[v], part.state);
        } else {
          partStates[v].put(entry.getKey(), part.state);
        }
        ViewUpdate update = view.update(user, entry.getKey(), part.state, context);
        update.sourceTimestamp = part.sourceTimestamp;
        output.collect(new StreamRecord<>(update));
      }
      // A hot user's many parts grow the map; clearing or iterating it costs its capacity, so a
      // grown map is replaced rather than reused for the next user.
      parts[v] = parts[v].size() > 16 ? new HashMap<>() : parts[v];
      parts[v].clear();
    }
    userRecord.update(updated);
  }

  /**
   * Drops the current user's ids that expired by their partition's log clock, if the oldest has
   * been expired for a sweep step; arranges a timer for when the next ones expire. Returns when the
   * oldest remaining id expires, or null when none is left.
   *
   * @param stored the expiry a timer was last arranged for (none when it changed)
   */
  private Long sweepIfDue(Long sweepAt, int partition, Long stored) throws Exception {
    if (sweepAt == null) {
      return null;
    }
    long clock = clock(partition);
    if (clock != Long.MIN_VALUE && clock >= sweepAt + sweepStepMs) {
      sweepAt = sweep(clock);
    }
    if (sweepAt != null && !sweepAt.equals(stored)) {
      // For a user who goes quiet: their ids still leave once the log has moved on.
      long wait = clock == Long.MIN_VALUE ? sweepStepMs : Math.max(sweepStepMs, sweepAt - clock);
      sweeps.registerProcessingTimeTimer(
          VoidNamespace.INSTANCE, sweeps.currentProcessingTime() + wait);
    }
    return sweepAt;
  }

  /** Removes the current user's ids expired at log time {@code clock}; the next expiry or null. */
  private Long sweep(long clock) throws Exception {
    Long next = null;
    var ids = seen.iterator();
    while (ids.hasNext()) {
      long expires = ids.next().getValue() + horizonMs + graceMs;
      if (expires <= clock) {
        ids.remove();
      } else {
        next = next == null ? expires : Math.min(next, expires);
      }
    }
    return next;
  }

  @Override
  public void onProcessingTime(InternalTimer<String, VoidNamespace> timer) throws Exception {
    refuseIfBroken();
    Row record = userRecord.value();
    if (record == null || record.getField(SWEEP_AT) == null) {
      return;
    }
    long sweepAt = (Long) record.getField(SWEEP_AT);
    int partition = (Integer) record.getField(PARTITION);
    Long next = sweepIfDue(sweepAt, partition, null);
    if (!java.util.Objects.equals(next, sweepAt)) {
      record.setField(SWEEP_AT, next);
      userRecord.update(record);
    }
  }

  @Override
  public void onEventTime(InternalTimer<String, VoidNamespace> timer) {}

  /** For tests: how many ids the state holds for a user. */
  int seenIds(String user) throws Exception {
    setCurrentKey(user);
    int count = 0;
    for (String ignored : seen.keys()) {
      count++;
    }
    return count;
  }

  /** A partition's log clock: the greatest append time read from it, MIN_VALUE before any. */
  private long clock(int partition) {
    return appendClock.get(partition);
  }

  private void observe(int partition, long appendTime) {
    appendClock.advance(partition, appendTime);
  }

  /** Whether the user record lists a part with this hash (maybe stored; false: never stored). */
  private boolean listed(Row record, int view, int hash) {
    if (record == null) {
      return false;
    }
    int[] listedParts = (int[]) record.getField(indexField[view]);
    if (listedParts != null
        && (listedParts.length == 0 || Arrays.binarySearch(listedParts, hash) >= 0)) {
      return true;
    }
    // A part first met earlier in this bundle under the same hash (another key): look it up.
    for (int i = 0; i < newPartCount[view]; i++) {
      if (newParts[view][i] == hash) {
        return true;
      }
    }
    return false;
  }

  private void addNewPart(int view, int hash) {
    if (newPartCount[view] == newParts[view].length) {
      newParts[view] = Arrays.copyOf(newParts[view], newPartCount[view] * 2);
    }
    newParts[view][newPartCount[view]++] = hash;
  }

  /** The listed parts and this bundle's new ones, sorted, without repeats; resets the new ones. */
  private int[] withNewParts(int[] listedParts, int view) {
    if (listedParts != null && listedParts.length == 0) {
      newPartCount[view] = 0;
      return listedParts;
    }
    int old = listedParts == null ? 0 : listedParts.length;
    int[] merged =
        Arrays.copyOf(listedParts == null ? new int[0] : listedParts, old + newPartCount[view]);
    System.arraycopy(newParts[view], 0, merged, old, newPartCount[view]);
    newPartCount[view] = 0;
    Arrays.sort(merged);
    int distinct = 0;
    for (int i = 0; i < merged.length; i++) {
      if (i == 0 || merged[i] != merged[i - 1]) {
        merged[distinct++] = merged[i];
      }
    }
    if (distinct > LISTED_PARTS) {
      return new int[0];
    }
    return distinct == merged.length ? merged : Arrays.copyOf(merged, distinct);
  }

  private void deadLetter(FoldEvent event) {
    refused
        .computeIfAbsent(
            event.refusalReason,
            reason -> metrics.addGroup("reason", reason).counter("deadLettered"))
        .inc();
    output.collect(
        DEAD_LETTERS,
        new StreamRecord<>(
            new DeadLetter(
                event.refusalReason,
                event.refusalError,
                event.topic,
                event.partition,
                event.offset,
                event.appendTime,
                event.userId.getBytes(StandardCharsets.UTF_8),
                event.raw)));
  }
}
