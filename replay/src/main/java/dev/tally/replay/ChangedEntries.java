package dev.tally.replay;

import dev.tally.common.views.ValkeyEndpoint;
import dev.tally.common.views.ViewKeys;
import io.valkey.JedisPubSub;
import io.valkey.UnifiedJedis;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The entry keys of one generation that change from now on, as the writers announce them on {@link
 * ViewKeys#INVALIDATION_CHANNEL}: what a cutover compares again after it stopped the live job,
 * instead of every key. Pub/sub delivers nothing it missed, so the set counts only while {@link
 * #complete()}: subscribed before the first change of interest, never cut off since, and heard from
 * within the last few pings (a subscription waits on its socket without a timeout, so a server gone
 * silent is noticed only by the pings going unanswered).
 */
final class ChangedEntries implements AutoCloseable {

  private static final long PING_MS = 1_000;
  private static final long SILENT_MS = 5 * PING_MS;

  private final int generation;
  private final Set<String> keys = ConcurrentHashMap.newKeySet();
  private final UnifiedJedis connection;
  private final Listener listener = new Listener();
  private final CountDownLatch subscribed = new CountDownLatch(1);
  private final Thread thread;
  private final Thread pinger;
  private volatile boolean cutOff;
  private volatile boolean closing;
  private volatile long lastHeard = System.nanoTime();

  private ChangedEntries(ValkeyEndpoint endpoint, int generation) {
    this.generation = generation;
    this.connection = endpoint.connect();
    this.thread =
        new Thread(
            () -> {
              try {
                connection.subscribe(listener, ViewKeys.INVALIDATION_CHANNEL);
              } catch (RuntimeException e) {
                // the socket failed or timed out: whatever came after is unknown
              } finally {
                if (!closing) {
                  cutOff = true;
                }
              }
            },
            "tally-replay-changes");
    thread.setDaemon(true);
    // Ping the server through the subscription: its answers say it is still there.
    this.pinger =
        new Thread(
            () -> {
              while (!closing && !cutOff) {
                try {
                  Thread.sleep(PING_MS);
                  if (listener.isSubscribed()) {
                    listener.ping();
                  }
                } catch (InterruptedException e) {
                  return;
                } catch (RuntimeException e) {
                  cutOff = true;
                }
              }
            },
            "tally-replay-changes-ping");
    pinger.setDaemon(true);
  }

  /**
   * Starts listening for changes to {@code generation}'s entries; returns once subscribed. A Valkey
   * cluster's writers publish on the node of each entry's slot, which one subscription does not
   * hear in full: there (or when the subscription fails) the result is never complete.
   */
  static ChangedEntries listen(ValkeyEndpoint endpoint, int generation) {
    ChangedEntries changes = new ChangedEntries(endpoint, generation);
    if (endpoint.cluster()) {
      changes.cutOff = true;
      changes.connection.close();
      return changes;
    }
    changes.thread.start();
    try {
      if (!changes.subscribed.await(10, TimeUnit.SECONDS)) {
        changes.cutOff = true;
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      changes.cutOff = true;
    }
    changes.pinger.start();
    return changes;
  }

  /** Whether every change since {@link #listen} was heard. */
  boolean complete() {
    if (!cutOff && System.nanoTime() - lastHeard > SILENT_MS * 1_000_000) {
      cutOff = true; // once silent, whatever came meanwhile is unknown for good
    }
    return !cutOff;
  }

  /** The generation's entry keys changed since {@link #listen}. */
  Set<String> keys() {
    return Set.copyOf(keys);
  }

  @Override
  public void close() {
    closing = true;
    pinger.interrupt();
    try {
      if (listener.isSubscribed()) {
        listener.unsubscribe();
      }
    } catch (RuntimeException e) {
      // closing anyway
    }
    connection.close();
  }

  private final class Listener extends JedisPubSub {

    @Override
    public void onSubscribe(String channel, int subscribedChannels) {
      lastHeard = System.nanoTime();
      subscribed.countDown();
    }

    @Override
    public void onPong(String pattern) {
      lastHeard = System.nanoTime();
    }

    @Override
    public void onMessage(String channel, String message) {
      lastHeard = System.nanoTime();
      for (String key : message.split("\n")) {
        try {
          ViewKeys.Key parsed = ViewKeys.parse(key);
          if (parsed.generation() == generation && parsed.kind() == ViewKeys.Kind.ENTRY) {
            keys.add(key);
          }
        } catch (IllegalArgumentException e) {
          // another publisher's message on the channel: not an entry key
        }
      }
    }
  }
}
