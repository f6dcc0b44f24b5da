package dev.tally.common.views;

import static org.assertj.core.api.Assertions.assertThat;

import io.valkey.JedisPubSub;
import io.valkey.UnifiedJedis;
import io.valkey.resps.Tuple;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What the Lua write path promises, run against a real standalone server and a real cluster by the
 * two subclasses.
 */
abstract class ValkeyViewStoreContract {

  private static final AtomicInteger GENERATIONS = new AtomicInteger(100);
  private static final String WRITER_A = "live/p0";
  private static final String WRITER_B = "live/p1";

  /** A store on a generation no other test uses, so tests never see each other's keys. */
  protected abstract ValkeyViewStore newStore(int generation);

  /** A second client for subscribing. */
  protected abstract UnifiedJedis newClient();

  protected ValkeyViewStore store;

  @BeforeEach
  void openStore() {
    store = newStore(GENERATIONS.incrementAndGet());
  }

  @AfterEach
  void closeStore() {
    store.close();
  }

  static ViewUpdate score(
      String user, String writer, long version, long points, long lastActivity) {
    return new ViewUpdate(
        "user_score",
        user,
        writer,
        version,
        Partial.builder()
            .sum("points", points)
            .sum("events", version)
            .max("last_activity_ms", lastActivity)
            .build(),
        0);
  }

  @Test
  void olderVersionNeverOverwritesANewerOne() {
    ValkeyViewStore.Result newer = store.apply(List.of(score("u1", WRITER_A, 2, 20, 2000)));
    ValkeyViewStore.Result older = store.apply(List.of(score("u1", WRITER_A, 1, 10, 1000)));
    ValkeyViewStore.Result same = store.apply(List.of(score("u1", WRITER_A, 2, 99, 9999)));

    assertThat(newer.applied()).isEqualTo(1);
    assertThat(older.applied()).isZero();
    assertThat(same.applied()).isZero();
    assertThat(store.entry("user_score", "u1"))
        .isEqualTo(Map.of("points", "20", "events", "2", "last_activity_ms", "2000", "_v", "2"));
  }

  @Test
  void partialsFromTwoWritersMergeFieldByField() {
    store.apply(List.of(score("u2", WRITER_A, 3, 30, 3000)));
    store.apply(List.of(score("u2", WRITER_B, 1, 5, 9000)));
    assertThat(store.entry("user_score", "u2"))
        .isEqualTo(Map.of("points", "35", "events", "4", "last_activity_ms", "9000", "_v", "4"));

    store.apply(List.of(score("u2", WRITER_A, 4, 31, 4000), score("u2", WRITER_B, 1, 7, 1)));
    assertThat(store.entry("user_score", "u2"))
        .as("A's newer partial replaces A's; B's stale re-send is ignored")
        .isEqualTo(Map.of("points", "36", "events", "5", "last_activity_ms", "9000", "_v", "5"));
  }

  @Test
  void valuesAreExactOverTheWholeInt64Range() {
    long twoTo53 = 1L << 53;
    store.apply(List.of(score("big", WRITER_A, 1, Long.MAX_VALUE, twoTo53 + 1)));
    assertThat(store.entry("user_score", "big"))
        .as("a single writer's values are served as written, not through a double")
        .containsEntry("points", "9223372036854775807")
        .containsEntry("last_activity_ms", "9007199254740993");

    store.apply(List.of(score("big", WRITER_B, 1, Long.MIN_VALUE, twoTo53 + 3)));
    assertThat(store.entry("user_score", "big"))
        .as("MAX + MIN = -1; the greater of two values that one double cannot tell apart")
        .containsEntry("points", "-1")
        .containsEntry("last_activity_ms", "9007199254740995");

    store.apply(
        List.of(
            score("big", WRITER_A, 2, twoTo53 + 1, twoTo53 + 5),
            score("big", WRITER_B, 2, twoTo53 + 1, twoTo53 + 4)));
    assertThat(store.entry("user_score", "big"))
        .as("replacing a partial in a sum beyond 2^53 adds the exact difference")
        .containsEntry("points", String.valueOf(2 * twoTo53 + 2))
        .containsEntry("last_activity_ms", String.valueOf(twoTo53 + 5));

    store.apply(List.of(score("small", WRITER_A, 1, 999_999_999_999_999L, -5)));
    store.apply(List.of(score("small", WRITER_B, 1, 1, -999_999_999_999_999L)));
    assertThat(store.entry("user_score", "small"))
        .as("where the number path and the digit path meet (15 and 16 characters)")
        .containsEntry("points", "1000000000000000")
        .containsEntry("last_activity_ms", "-5");
  }

  @Test
  void minimaAreExactBeyondADoublesPrecision() {
    ViewUpdate a = minUpdate(WRITER_A, -(1L << 53) - 1);
    ViewUpdate b = minUpdate(WRITER_B, -(1L << 53));
    store.apply(List.of(a));
    store.apply(List.of(b));
    assertThat(store.entry("test_min", "m")).containsEntry("low", "-9007199254740993");
    store.apply(List.of(minUpdate(WRITER_B, Long.MIN_VALUE)));
    assertThat(store.entry("test_min", "m")).containsEntry("low", "-9223372036854775808");
  }

  private static ViewUpdate minUpdate(String writer, long value) {
    long version = value == Long.MIN_VALUE ? 2 : 1;
    return new ViewUpdate(
        "test_min",
        "m",
        writer,
        version,
        Partial.builder().add(Partial.Op.MIN, "low", value).build(),
        0);
  }

  @Test
  void updatesOfOneEntryAreCoalescedWithinABatch() {
    ValkeyViewStore.Result result =
        store.apply(
            List.of(
                score("u3", WRITER_A, 1, 1, 1),
                score("u3", WRITER_A, 3, 3, 3),
                score("u3", WRITER_A, 2, 2, 2)));

    assertThat(result.updates()).isEqualTo(3);
    assertThat(result.coalesced()).isEqualTo(1);
    assertThat(result.applied()).isEqualTo(1);
    assertThat(store.entry("user_score", "u3"))
        .containsEntry("points", "3")
        .containsEntry("_v", "3");
  }

  @Test
  void rankedEntriesKeepTheLeaderboardAndInvalidateItsCache() {
    UnifiedJedis client = store.client();
    String cache = ViewKeys.rankCache(store.generation(), "leaderboard", "hunt-1");
    client.set(cache, "rendered top 10");

    store.apply(
        List.of(
            board("hunt-1", "u1", WRITER_A, 1, 10),
            board("hunt-1", "u2", WRITER_A, 1, 30),
            board("hunt-1", "u3", WRITER_A, 1, 20),
            board("hunt-2", "u1", WRITER_A, 1, 99)));

    assertThat(store.top("leaderboard", "hunt-1", 2))
        .extracting(Tuple::getElement)
        .containsExactly("u2", "u3");
    assertThat(store.top("leaderboard", "hunt-1", 10))
        .extracting(Tuple::getScore)
        .containsExactly(30.0, 20.0, 10.0);
    assertThat(store.rankedEntry("leaderboard", "hunt-1", "hunt-1|u1"))
        .containsEntry("points", "10");
    assertThat(client.exists(cache)).as("the cached rendering is invalidated").isFalse();

    store.apply(List.of(board("hunt-1", "u1", WRITER_B, 1, 25)));
    assertThat(store.top("leaderboard", "hunt-1", 1))
        .extracting(Tuple::getElement, Tuple::getScore)
        .containsExactly(org.assertj.core.groups.Tuple.tuple("u1", 35.0));
  }

  @Test
  void everyChangedRankingsCacheIsDeletedInEachCallThatChangesIt() {
    UnifiedJedis client = store.client();
    String one = ViewKeys.rankCache(store.generation(), "leaderboard", "hunt-1");
    String two = ViewKeys.rankCache(store.generation(), "leaderboard", "hunt-2");
    client.set(one, "rendered");
    client.set(two, "rendered");

    store.apply(
        List.of(
            board("hunt-1", "u1", WRITER_A, 1, 10),
            board("hunt-1", "u2", WRITER_A, 1, 30),
            board("hunt-2", "u1", WRITER_A, 1, 5)));
    assertThat(client.exists(one)).as("hunt-1's rendering").isFalse();
    assertThat(client.exists(two)).as("hunt-2's rendering, in the same call").isFalse();

    client.set(one, "rendered again");
    store.apply(List.of(board("hunt-1", "u1", WRITER_A, 1, 10)));
    assertThat(client.get(one))
        .as("a version already held changes nothing")
        .isEqualTo("rendered again");

    store.apply(
        List.of(board("hunt-1", "u1", WRITER_A, 2, 11), board("hunt-1", "u2", WRITER_A, 2, 31)));
    assertThat(client.exists(one)).as("the next call that changes hunt-1").isFalse();
  }

  @Test
  void invalidationIsPublishedExactlyWhenAValueChanges() throws Exception {
    BlockingQueue<String> messages = new LinkedBlockingQueue<>();
    CountDownLatch subscribed = new CountDownLatch(1);
    JedisPubSub listener =
        new JedisPubSub() {
          @Override
          public void onSubscribe(String channel, int count) {
            subscribed.countDown();
          }

          @Override
          public void onMessage(String channel, String message) {
            messages.add(message);
          }
        };
    UnifiedJedis subscriber = newClient();
    Thread thread =
        new Thread(
            () -> subscriber.subscribe(listener, ViewKeys.INVALIDATION_CHANNEL), "subscriber");
    thread.start();
    try {
      assertThat(subscribed.await(10, TimeUnit.SECONDS)).isTrue();
      awaitDelivery(messages);
      String u3 = ViewKeys.entry(store.generation(), "user_score", "u3");
      String u4 = ViewKeys.entry(store.generation(), "user_score", "u4");
      String u5 = ViewKeys.entry(store.generation(), "user_score", "u5");
      String announce = ViewKeys.announce(store.generation());

      // Not served (tally:generation absent: 1) and nobody asked: no message, on one node; a
      // cluster announces every generation (the served pointer is in another slot).
      store.apply(List.of(score("u3", WRITER_A, 1, 1, 1)));
      store.client().set(announce, "test");
      store.apply(List.of(score("u4", WRITER_A, 2, 20, 2000)));
      if (announcesEveryGeneration()) {
        assertThat(nextOfThisTest(messages)).isEqualTo(u3);
      }
      assertThat(nextOfThisTest(messages)).isEqualTo(u4);

      store.apply(List.of(score("u4", WRITER_A, 1, 10, 1000))); // older: nothing changes
      store.apply(List.of(score("u4", WRITER_A, 2, 20, 2000))); // same version: nothing changes
      store.apply(List.of(score("u5", WRITER_A, 1, 1, 1)));

      assertThat(nextOfThisTest(messages)).as("no message for the two no-op writes").isEqualTo(u5);

      // Served: announced without being asked.
      store.client().del(announce);
      store.client().set(ViewKeys.GENERATION_KEY, Integer.toString(store.generation()));
      store.apply(List.of(score("u3", WRITER_A, 2, 2, 2)));
      assertThat(nextOfThisTest(messages)).isEqualTo(u3);
      assertThat(messages).noneMatch(this::ofThisTest);
    } finally {
      store.client().del(ViewKeys.GENERATION_KEY);
      listener.unsubscribe();
      thread.join(10_000);
      subscriber.close();
    }
  }

  /**
   * The next message about this test's generation. In a cluster, an earlier test's messages may
   * still be crossing the cluster bus when this one subscribes: they are skipped.
   */
  private String nextOfThisTest(BlockingQueue<String> messages) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < deadline) {
      String message = messages.poll(200, TimeUnit.MILLISECONDS);
      if (message != null && ofThisTest(message)) {
        return message;
      }
    }
    return null;
  }

  private boolean ofThisTest(String message) {
    return message.contains(":g" + store.generation() + ":");
  }

  /**
   * Publishes probes until one arrives: in a cluster, messages travel over the cluster bus, whose
   * links may still be connecting right after the cluster formed; pub/sub drops what it cannot
   * deliver. Then drains the probes.
   */
  private void awaitDelivery(BlockingQueue<String> messages) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (System.nanoTime() < deadline) {
      store.client().publish(ViewKeys.INVALIDATION_CHANNEL, "probe");
      if ("probe".equals(messages.poll(200, TimeUnit.MILLISECONDS))) {
        Thread.sleep(200);
        messages.removeIf("probe"::equals);
        return;
      }
    }
    throw new AssertionError("no pub/sub message delivered within 30 s");
  }

  @Test
  void scriptIsReloadedAfterTheServerForgetsIt() {
    store.apply(List.of(score("u6", WRITER_A, 1, 1, 1)));
    flushScripts();

    store.apply(List.of(score("u6", WRITER_A, 2, 2, 2)));

    assertThat(store.entry("user_score", "u6")).containsEntry("points", "2");
  }

  /** Whether the store announces changes of every generation (a cluster: it cannot tell). */
  protected abstract boolean announcesEveryGeneration();

  /** SCRIPT FLUSH on every node the store talks to. */
  protected abstract void flushScripts();

  static ViewUpdate board(String hunt, String user, String writer, long version, long points) {
    return new ViewUpdate(
            "leaderboard",
            hunt + "|" + user,
            writer,
            version,
            Partial.builder().sum("points", points).sum("events", version).build(),
            0)
        .rankedIn(hunt, user, "points");
  }
}
