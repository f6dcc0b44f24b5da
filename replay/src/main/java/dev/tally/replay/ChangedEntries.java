package dev.tally.replay;

import dev.tally.common.views.ValkeyEndpoint;
import dev.tally.common.views.ViewKeys;
import io.valkey.JedisPubSub;
import io.valkey.UnifiedJedis;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The entry keys of two generations that change from now on, as the writers announce them on {@link
 * ViewKeys#INVALIDATION_CHANNEL} (an entry whose served value changes): what a cutover compares
 * again after it stopped the live job, instead of every key. Keys are kept as the live
 * generation's; a change heard in the other generation counts for the same entry of the live one.
 * Pub/sub delivers nothing it missed, so the set counts only while {@link #complete()}: subscribed
 * before the first change of interest, never cut off since, and heard from within the last few
 * pings (a subscription waits on its socket without a timeout, so a server gone silent is noticed
 * only by the pings going unanswered).
 */
final class ChangedEntries implements AutoCloseable {

  private static final long PING_MS = 1_000;
  private static final long SILENT_MS = 5 * PING_MS;
  private static final String BARRIER = "tally-barrier-";

  private final int generation;
  private final int other;
  private final Object writing = new Object();
  private final AtomicLong barriers = new AtomicLong();
  private final AtomicLong pongs = new AtomicLong();
  private final Set<String> keys = ConcurrentHashMap.newKeySet();
  private final UnifiedJedis connection;
  private final Listener listener = new Listener();
  private final CountDownLatch subscribed = new CountDownLatch(1);
  private final Thread thread;
  private final Thread pinger;
  private volatile boolean cutOff;
  private volatile boolean closing;
  private volatile long lastHeard = System.nanoTime();

  private ChangedEntries(ValkeyEndpoint endpoint, int generation, int other) {
    this.generation = generation;
    this.other = other;
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
                  ping(null);
                  askToAnnounce();
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
   * Starts listening for changes to the entries of {@code generation} and {@code other}; returns
   * once subscribed. A Valkey cluster's writers publish on the node of each entry's slot, which one
   * subscription does not hear in full: there (or when the subscription fails) the result is never
   * complete.
   */
  static ChangedEntries listen(ValkeyEndpoint endpoint, int generation, int other) {
    ChangedEntries changes = new ChangedEntries(endpoint, generation, other);
    if (endpoint.cluster()) {
      changes.cutOff = true;
      changes.connection.close();
      return changes;
    }
    changes.askToAnnounce();
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

  /**
   * Waits until every message the server had published before this call has been heard: a ping on
   * the subscription is answered after them (one connection delivers in order). Call it once the
   * writers of interest have stopped, before {@link #keys()}. False (and never complete again) when
   * no answer came within {@code timeout}.
   */
  boolean heardAllPublished(Duration timeout) {
    if (!complete()) {
      return false;
    }
    long token = barriers.incrementAndGet();
    long deadline = System.nanoTime() + timeout.toNanos();
    try {
      ping(BARRIER + token);
      synchronized (pongs) {
        while (pongs.get() < token && !cutOff) {
          long left = deadline - System.nanoTime();
          if (left <= 0) {
            cutOff = true;
            break;
          }
          pongs.wait(Math.max(1, left / 1_000_000));
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      cutOff = true;
    } catch (RuntimeException e) {
      cutOff = true;
    }
    return complete();
  }

  /**
   * The entry keys (as the live generation's) changed since {@link #listen}, as far as heard: see
   * {@link #heardAllPublished}.
   */
  Set<String> keys() {
    return Set.copyOf(keys);
  }

  /**
   * Writers announce only the served generation's changes, and another's while its {@link
   * ViewKeys#announce} key exists: kept for both generations while listening, for a few pings.
   */
  private void askToAnnounce() {
    connection.psetex(ViewKeys.announce(generation), SILENT_MS * 2, "cutover");
    connection.psetex(ViewKeys.announce(other), SILENT_MS * 2, "cutover");
  }

  /** Pings through the subscription (one writer at a time on its socket). */
  private void ping(String argument) {
    synchronized (writing) {
      if (!listener.isSubscribed()) {
        return;
      }
      if (argument == null) {
        listener.ping();
      } else {
        listener.ping(argument);
      }
    }
  }

  @Override
  public void close() {
    closing = true;
    pinger.interrupt();
    try {
      pinger.join(2_000);
      synchronized (writing) {
        if (listener.isSubscribed()) {
          listener.unsubscribe();
        }
      }
      thread.join(2_000);
      connection.del(ViewKeys.announce(generation), ViewKeys.announce(other));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
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
    public void onPong(String argument) {
      lastHeard = System.nanoTime();
      if (argument != null && argument.startsWith(BARRIER)) {
        synchronized (pongs) {
          pongs.accumulateAndGet(Long.parseLong(argument.substring(BARRIER.length())), Math::max);
          pongs.notifyAll();
        }
      }
    }

    @Override
    public void onMessage(String channel, String message) {
      lastHeard = System.nanoTime();
      for (String key : message.split("\n")) {
        try {
          ViewKeys.Key parsed = ViewKeys.parse(key);
          if (parsed.kind() != ViewKeys.Kind.ENTRY) {
            continue;
          }
          if (parsed.generation() == generation) {
            keys.add(key);
          } else if (parsed.generation() == other) {
            keys.add(ViewKeys.inGeneration(key, generation));
          }
        } catch (IllegalArgumentException e) {
          // another publisher's message on the channel: not an entry key
        }
      }
    }
  }
}
