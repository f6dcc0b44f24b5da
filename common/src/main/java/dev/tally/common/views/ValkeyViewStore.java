package dev.tally.common.views;

import io.valkey.UnifiedJedis;
import io.valkey.exceptions.JedisNoScriptException;
import io.valkey.resps.Tuple;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Writes view updates to Valkey through one Lua script ({@code apply_updates.lua}) and reads the
 * served views back. Each {@link #apply} call coalesces the updates per entry and writer, then
 * sends as few script calls as the deployment allows: one per {@link #maxPerCall} updates on a
 * single node, one per hash tag (hence slot) in a cluster. The script is loaded once and reloaded
 * when the server answers NOSCRIPT (after a restart or failover).
 *
 * <p>Not thread-safe: one per sink writer.
 */
public final class ValkeyViewStore implements AutoCloseable {

  static final String SCRIPT = loadScript();
  private static final byte[] SCRIPT_BYTES = SCRIPT.getBytes(StandardCharsets.UTF_8);

  /** At most this many recurring names are cached per store. */
  private static final int MAX_NAMES = 1024;

  private final UnifiedJedis jedis;
  private final boolean cluster;
  private final byte[] announceGeneration;
  private final int generation;
  private final int maxPerCall;
  private byte[] sha;
  private long calls;
  private final Map<String, byte[]> names = new java.util.HashMap<>();

  /** What one {@link #apply} did. */
  public record Result(int updates, int coalesced, long applied, long changed, int calls) {}

  public ValkeyViewStore(ValkeyEndpoint endpoint, int generation, int maxPerCall) {
    this(endpoint.connect(), endpoint.cluster(), generation, maxPerCall);
  }

  ValkeyViewStore(UnifiedJedis jedis, boolean cluster, int generation, int maxPerCall) {
    if (generation < 1) {
      throw new IllegalArgumentException("generation must be >= 1, got " + generation);
    }
    this.jedis = jedis;
    this.cluster = cluster;
    // In a cluster the script cannot read the served pointer (another slot): announce always.
    this.announceGeneration = cluster ? EMPTY : utf8(Integer.toString(generation));
    this.generation = generation;
    this.maxPerCall = maxPerCall;
  }

  public int generation() {
    return generation;
  }

  /** Script calls made so far. */
  public long calls() {
    return calls;
  }

  /**
   * Applies a batch: for each entry and writer only the highest version counts, and it is kept only
   * when newer than what Valkey holds. Atomic per script call.
   */
  public Result apply(List<ViewUpdate> updates) {
    Map<ViewUpdate.Identity, ViewUpdate> latest = coalesce(updates);
    return send(updates.size(), new ArrayList<>(latest.values()));
  }

  /**
   * {@link #apply} for a batch that holds each entry and writer at most once (a sink writer's
   * coalesced batch): the same, without coalescing it again.
   */
  public Result applyDistinct(List<ViewUpdate> updates) {
    return send(updates.size(), updates);
  }

  private Result send(int given, List<ViewUpdate> distinct) {
    Collection<List<ViewUpdate>> groups;
    if (cluster) {
      Map<Integer, List<ViewUpdate>> byTag = new TreeMap<>();
      for (ViewUpdate update : distinct) {
        byTag.computeIfAbsent(ViewKeys.tagOf(update), g -> new ArrayList<>()).add(update);
      }
      groups = byTag.values();
    } else {
      groups = List.of(distinct);
    }
    long applied = 0;
    long changed = 0;
    int callsNow = 0;
    for (List<ViewUpdate> group : groups) {
      for (int from = 0; from < group.size(); from += maxPerCall) {
        List<ViewUpdate> chunk = group.subList(from, Math.min(group.size(), from + maxPerCall));
        List<Long> result = call(chunk);
        applied += result.get(0);
        changed += result.get(1);
        callsNow++;
      }
    }
    calls += callsNow;
    return new Result(given, distinct.size(), applied, changed, callsNow);
  }

  /** Keeps, per entry and writer, the update with the highest version. */
  static Map<ViewUpdate.Identity, ViewUpdate> coalesce(List<ViewUpdate> updates) {
    Map<ViewUpdate.Identity, ViewUpdate> latest = new LinkedHashMap<>();
    for (ViewUpdate update : updates) {
      latest.merge(update.coalesceKey(), update, (a, b) -> b.version >= a.version ? b : a);
    }
    return latest;
  }

  @SuppressWarnings("unchecked")
  private List<Long> call(List<ViewUpdate> chunk) {
    // Arguments go as bytes built here (prefixes, names and codes cached): encoding thousands of
    // strings per call through the client's String API cost more than the call itself.
    List<byte[]> keys = new ArrayList<>(chunk.size() * 3);
    List<byte[]> args = new ArrayList<>(chunk.size() * 13 + 1);
    args.add(bytes(ViewKeys.INVALIDATION_CHANNEL));
    args.add(announceGeneration);
    for (ViewUpdate update : chunk) {
      int tag = ViewKeys.tagOf(update);
      byte[] entry = utf8(ViewKeys.entry(generation, update.view, update.key, tag));
      keys.add(entry);
      if (update.rankSet != null) {
        // A ranked entry's tag is its ranking's tag: one CRC per update, not three.
        String rank = ViewKeys.rank(generation, update.view, update.rankSet, tag);
        keys.add(utf8(rank));
        keys.add(utf8(ViewKeys.cacheOf(rank)));
      } else {
        keys.add(entry);
        keys.add(entry);
      }
      args.add(bytes(update.writer));
      args.add(decimal(update.version));
      args.add(update.rankSet == null ? EMPTY : utf8(update.rankField + "|" + update.rankMember));
      appendFields(update.fields(), args);
    }
    if (sha == null) {
      sha = jedis.scriptLoad(SCRIPT_BYTES, keys.get(0));
    }
    Object reply;
    try {
      reply = jedis.evalsha(sha, keys, args);
    } catch (JedisNoScriptException e) {
      // The server lost its script cache (restart, failover, SCRIPT FLUSH): load it again.
      sha = jedis.scriptLoad(SCRIPT_BYTES, keys.get(0));
      reply = jedis.evalsha(sha, keys, args);
    }
    return (List<Long>) reply;
  }

  /** Appends "n, op, field, value, …" for a partial's fields. */
  void appendFields(List<Partial.Field> fields, List<byte[]> args) {
    args.add(decimal(fields.size()));
    for (Partial.Field field : fields) {
      args.add(bytes(field.op().code()));
      args.add(bytes(field.name()));
      args.add(decimal(field.value()));
    }
  }

  /** The bytes of a name that recurs in every call (writers, fields, ops), from a small cache. */
  private byte[] bytes(String name) {
    byte[] cached = names.get(name);
    if (cached == null) {
      cached = utf8(name);
      if (names.size() < MAX_NAMES) {
        names.put(name, cached);
      }
    }
    return cached;
  }

  private static byte[] utf8(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  /** A long as its ASCII decimal digits. */
  static byte[] decimal(long value) {
    if (value >= 0 && value < SMALL.length) {
      return SMALL[(int) value];
    }
    return Long.toString(value).getBytes(StandardCharsets.US_ASCII);
  }

  private static final byte[] EMPTY = new byte[0];
  private static final byte[][] SMALL = new byte[256][];

  static {
    for (int i = 0; i < SMALL.length; i++) {
      SMALL[i] = Integer.toString(i).getBytes(StandardCharsets.US_ASCII);
    }
  }

  /** The served fields of an entry (without the writers' partials), empty when absent. */
  public Map<String, String> entry(String view, String key) {
    return served(jedis.hgetAll(ViewKeys.entry(generation, view, key)));
  }

  /** The served fields of an entry ranked in {@code set}. */
  public Map<String, String> rankedEntry(String view, String set, String key) {
    return served(jedis.hgetAll(ViewKeys.rankedEntry(generation, view, set, key)));
  }

  /** The top {@code n} members of a ranking, highest score first. */
  public List<Tuple> top(String view, String set, int n) {
    return jedis.zrevrangeWithScores(ViewKeys.rank(generation, view, set), 0, n - 1);
  }

  /**
   * An entry hash without the writers' partials ({@code _w:…}): the served fields and the served
   * version {@code _v}.
   */
  public static Map<String, String> served(Map<String, String> hash) {
    Map<String, String> served = new TreeMap<>();
    hash.forEach(
        (field, value) -> {
          if (!field.startsWith("_w:")) {
            served.put(field, value);
          }
        });
    return served;
  }

  /** The underlying client, for reads the store does not wrap. */
  public UnifiedJedis client() {
    return jedis;
  }

  @Override
  public void close() {
    jedis.close();
  }

  private static String loadScript() {
    try (InputStream in =
        ValkeyViewStore.class.getResourceAsStream("/dev/tally/views/apply_updates.lua")) {
      if (in == null) {
        throw new IllegalStateException("apply_updates.lua missing from the classpath");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
