package dev.tally.serve;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.tally.common.views.ValkeyEndpoint;
import dev.tally.common.views.ViewCatalog;
import dev.tally.common.views.ViewClient;
import dev.tally.common.views.ViewKeys;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.valkey.Jedis;
import io.valkey.JedisPubSub;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.Supplier;

/**
 * The server's copy of what it read from Valkey — the served generation, entries, leaderboard tops
 * — kept right by the writers' announcements on {@link ViewKeys#INVALIDATION_CHANNEL}
 * (docs/serving.md "Near cache"): an announced entry is dropped, and with it the tops of its
 * ranking; a generation switch (announced by the flip) drops everything. It serves only while its
 * subscription is known to hear every announcement: from the moment it subscribed (everything is
 * dropped then), while pings through it are answered; otherwise every read goes to {@link
 * ViewClient} (a bypass) and the subscription is made again.
 *
 * <p>A read that raced an announcement keeps nothing: the value loaded is stored only if no
 * announcement of its key (nor a drop of everything) came between the start of the read and the
 * store, both checked under the key's lock. Only what Valkey answered is kept (a PostgreSQL answer
 * is not announced when it changes in Valkey's absence), and nothing longer than {@code ttl}: the
 * bound on a change made behind the writers' back (a key deleted by hand).
 */
final class NearCache implements AutoCloseable {

  private static final int STRIPES = 1024;
  private static final long PING_MS = 1_000;
  private static final long SILENT_MS = 3 * PING_MS;
  private static final long RECONNECT_MS = 1_000;

  private final ViewClient client;
  private final ValkeyEndpoint endpoint;
  private final Cache<String, ViewClient.Entry> entries;
  private final Cache<String, Map<Integer, ViewClient.Ranking>> tops;
  private final AtomicLongArray announced = new AtomicLongArray(STRIPES);
  private final AtomicLong epoch = new AtomicLong();
  private final Object writing = new Object();
  private final Counter hits;
  private final Counter misses;
  private final Counter bypasses;
  private final Counter invalidations;
  private final MeterRegistry metrics;
  private final Thread subscriber;
  private final Thread pinger;
  private volatile Integer generation;
  private volatile boolean listening;
  private volatile boolean closed;
  private volatile long lastHeard = System.nanoTime();
  private volatile Jedis connection;
  private volatile Listener listener;

  private NearCache(
      ViewClient client,
      ValkeyEndpoint endpoint,
      long maxEntries,
      Duration ttl,
      MeterRegistry metrics) {
    this.client = client;
    this.endpoint = endpoint;
    this.metrics = metrics;
    this.entries = Caffeine.newBuilder().maximumSize(maxEntries).expireAfterWrite(ttl).build();
    this.tops =
        Caffeine.newBuilder()
            .maximumSize(Math.max(1, maxEntries / 10))
            .expireAfterWrite(ttl)
            .build();
    this.hits = metrics.counter("tally_serve_near_cache_reads", "result", "hit");
    this.misses = metrics.counter("tally_serve_near_cache_reads", "result", "miss");
    this.bypasses = metrics.counter("tally_serve_near_cache_reads", "result", "bypass");
    this.invalidations = metrics.counter("tally_serve_near_cache_invalidations");
    metrics.gauge("tally_serve_near_cache_entries", entries, cache -> cache.estimatedSize());
    metrics.gauge("tally_serve_near_cache_listening", this, cache -> cache.listening ? 1 : 0);
    this.subscriber = new Thread(this::subscribeAgainAndAgain, "tally-serve-near-cache");
    this.pinger = new Thread(this::pingAgainAndAgain, "tally-serve-near-cache-ping");
    subscriber.setDaemon(true);
    pinger.setDaemon(true);
  }

  /**
   * Starts listening; reads bypass the cache until the subscription is made.
   *
   * @throws IllegalArgumentException for a Valkey cluster: one subscription does not hear every
   *     node's writers there, so the near cache is refused rather than served stale
   */
  static NearCache start(
      ViewClient client,
      ValkeyEndpoint endpoint,
      long maxEntries,
      Duration ttl,
      MeterRegistry metrics) {
    if (endpoint.cluster()) {
      throw new IllegalArgumentException(
          "the near cache needs a single Valkey node (a cluster's announcements are not heard in"
              + " full by one subscription): serve with --near-cache-size 0");
    }
    NearCache cache = new NearCache(client, endpoint, maxEntries, ttl, metrics);
    cache.subscriber.start();
    cache.pinger.start();
    return cache;
  }

  /** Whether reads are served from the cache now (subscribed and heard from). */
  boolean listening() {
    return listening;
  }

  /** The served generation. */
  int generation() {
    Integer known = generation;
    if (known != null && listening) {
      return known;
    }
    long before = epoch.get();
    int read = client.generation();
    synchronized (epoch) {
      if (listening && epoch.get() == before) {
        generation = read;
      }
    }
    return read;
  }

  /** An entry of {@code generation}: ranked in its set for a ranked view. */
  ViewClient.Entry entry(int generation, String view, String key) {
    String set = ViewCatalog.byId(view).setOf(key);
    String valkeyKey =
        set == null
            ? ViewKeys.entry(generation, view, key)
            : ViewKeys.rankedEntry(generation, view, set, key);
    Supplier<ViewClient.Entry> load =
        () ->
            set == null
                ? client.entry(generation, view, key)
                : client.rankedEntry(generation, view, set, key);
    if (!listening) {
      bypasses.increment();
      return load.get();
    }
    ViewClient.Entry cached = entries.getIfPresent(valkeyKey);
    if (cached != null) {
      hits.increment();
      return cached;
    }
    misses.increment();
    long before = epoch.get();
    long stripe = announced.get(stripe(valkeyKey));
    ViewClient.Entry loaded = load.get();
    if (loaded.source() == ViewClient.Source.VALKEY) {
      entries.asMap().compute(valkeyKey, (k, old) -> unchanged(k, before, stripe) ? loaded : old);
    }
    return loaded;
  }

  /** The top {@code n} of a ranking of {@code generation}. */
  ViewClient.Ranking ranking(int generation, String view, String set, int n) {
    if (!listening) {
      bypasses.increment();
      return client.ranking(generation, view, set, n);
    }
    String rankKey = ViewKeys.rank(generation, view, set);
    Map<Integer, ViewClient.Ranking> byN = tops.getIfPresent(rankKey);
    ViewClient.Ranking cached = byN == null ? null : byN.get(n);
    if (cached != null) {
      hits.increment();
      return cached;
    }
    misses.increment();
    long before = epoch.get();
    long stripe = announced.get(stripe(rankKey));
    ViewClient.Ranking loaded = client.ranking(generation, view, set, n);
    if (loaded.source() == ViewClient.Source.VALKEY) {
      tops.asMap()
          .compute(
              rankKey,
              (k, old) -> {
                if (!unchanged(k, before, stripe)) {
                  return old;
                }
                Map<Integer, ViewClient.Ranking> updated =
                    old == null ? new ConcurrentHashMap<>() : old;
                updated.put(n, loaded);
                return updated;
              });
    }
    return loaded;
  }

  /** Under the key's lock: nothing announced for it, nothing dropped, since the read began. */
  private boolean unchanged(String key, long epochBefore, long stripeBefore) {
    return listening && epoch.get() == epochBefore && announced.get(stripe(key)) == stripeBefore;
  }

  private static int stripe(String key) {
    return (key.hashCode() & 0x7fffffff) % STRIPES;
  }

  /** An announced key: dropped, under its lock, with the tops of the ranking it is in. */
  private void invalidate(String key) {
    invalidations.increment();
    entries
        .asMap()
        .compute(
            key,
            (k, old) -> {
              announced.incrementAndGet(stripe(k));
              return null;
            });
    try {
      ViewKeys.Key parsed = ViewKeys.parse(key);
      String set = ViewCatalog.byId(parsed.view()).setOf(parsed.name());
      if (set != null) {
        tops.asMap()
            .compute(
                ViewKeys.rank(parsed.generation(), parsed.view(), set),
                (k, old) -> {
                  announced.incrementAndGet(stripe(k));
                  return null;
                });
      }
    } catch (IllegalArgumentException e) {
      // not a view's entry key (another publisher on the channel): nothing else depends on it
    }
  }

  /** Drops everything; no read that began before keeps what it loaded. */
  private void dropAll(String reason) {
    synchronized (epoch) {
      epoch.incrementAndGet();
      generation = null;
    }
    entries.invalidateAll();
    tops.invalidateAll();
    metrics.counter("tally_serve_near_cache_drops", "reason", reason).increment();
  }

  private void subscribeAgainAndAgain() {
    while (!closed) {
      try (Jedis jedis = endpoint.connectOne()) {
        connection = jedis;
        Listener next = new Listener();
        listener = next;
        jedis.subscribe(next, ViewKeys.INVALIDATION_CHANNEL);
      } catch (RuntimeException e) {
        // refused, cut off or timed out: whatever came meanwhile is unknown
      }
      if (listening) {
        listening = false;
        dropAll("connection");
      }
      if (!closed) {
        try {
          Thread.sleep(RECONNECT_MS);
        } catch (InterruptedException e) {
          return;
        }
      }
    }
  }

  private void pingAgainAndAgain() {
    while (!closed) {
      try {
        Thread.sleep(PING_MS);
        Listener current = listener;
        if (current != null && current.isSubscribed()) {
          synchronized (writing) {
            current.ping();
          }
        }
        if (listening && System.nanoTime() - lastHeard > SILENT_MS * 1_000_000) {
          // A server gone silent: stop serving from the cache and cut the socket, so the
          // subscriber notices and subscribes again.
          listening = false;
          dropAll("silence");
          Jedis jedis = connection;
          if (jedis != null) {
            jedis.disconnect();
          }
        }
      } catch (InterruptedException e) {
        return;
      } catch (RuntimeException e) {
        // the subscriber sees the failure too and subscribes again
      }
    }
  }

  @Override
  public void close() {
    closed = true;
    listening = false;
    pinger.interrupt();
    subscriber.interrupt();
    Jedis jedis = connection;
    if (jedis != null) {
      try {
        jedis.disconnect();
      } catch (RuntimeException e) {
        // closing anyway
      }
    }
  }

  private final class Listener extends JedisPubSub {

    @Override
    public void onSubscribe(String channel, int subscribedChannels) {
      // Whatever changed before now was not heard: start empty, then serve.
      lastHeard = System.nanoTime();
      dropAll("subscribed");
      listening = true;
    }

    @Override
    public void onPong(String argument) {
      lastHeard = System.nanoTime();
    }

    @Override
    public void onMessage(String channel, String message) {
      lastHeard = System.nanoTime();
      if (message.equals(ViewKeys.GENERATION_KEY)) {
        dropAll("switch");
        return;
      }
      for (String key : message.split("\n")) {
        invalidate(key);
      }
    }
  }
}
