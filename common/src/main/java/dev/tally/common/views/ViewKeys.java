package dev.tally.common.views;

import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32;

/**
 * The Valkey key layout, a contract the API layer reads directly (docs/views.md).
 *
 * <pre>
 * tally:generation                                   the generation readers serve (string)
 * tally:{NN}:g&lt;gen&gt;:&lt;view&gt;:&lt;key&gt;               an entry (hash): served fields, _v, _w:&lt;writer&gt;
 * tally:{NN}:g&lt;gen&gt;:&lt;view&gt;:&lt;set&gt;:rank            a ranking (sorted set), e.g. a hunt's leaderboard
 * tally:{NN}:g&lt;gen&gt;:&lt;view&gt;:&lt;set&gt;:rank:cache      a cached rendering of it, deleted on change
 * tally:{NN}:g&lt;gen&gt;:_complete                     the tag's completeness marker (string)
 * tally:{NN}:g&lt;gen&gt;:_warming                      a warm-up's token while it refills the tag
 * tally:invalidate                                   pub/sub channel: changed entry keys
 * tally:announce:g&lt;gen&gt;                              while present, changes of a generation not
 *                                                    served are announced too (a cutover's)
 * </pre>
 *
 * {@code NN} is a hash tag: {@code CRC32(tagSource) mod 64}, two digits, where {@code tagSource} is
 * {@code <view>:<set>} for ranked entries (so an entry and its ranking share a slot) and {@code
 * <view>:<key>} otherwise. 64 tags keep every multi-key script call within one cluster slot while
 * batching many entries per call.
 */
public final class ViewKeys {

  public static final int TAGS = 64;
  public static final String GENERATION_KEY = "tally:generation";
  public static final String INVALIDATION_CHANNEL = "tally:invalidate";

  /**
   * While this key exists, the writers of {@code generation} announce its changes on {@link
   * #INVALIDATION_CHANNEL} although readers are not served it (they announce the served one's
   * always; in a cluster, every generation's).
   */
  public static String announce(int generation) {
    return "tally:announce:g" + generation;
  }

  private static final String RANK_SUFFIX = ":rank";
  private static final String CACHE_SUFFIX = ":cache";
  private static final String COMPLETE = "_complete";
  private static final String WARMING = "_warming";

  private ViewKeys() {}

  /** The hash tag number of a tag source: CRC32 of its UTF-8 bytes, mod {@link #TAGS}. */
  public static int tag(String tagSource) {
    CRC32 crc = new CRC32();
    crc.update(tagSource.getBytes(StandardCharsets.UTF_8));
    return (int) (crc.getValue() % TAGS);
  }

  /**
   * What an entry's tag is computed from: {@code <view>:<set>} for an entry ranked in a set (so it
   * shares its ranking's slot), {@code <view>:<key>} otherwise.
   */
  public static String tagSource(String view, String setOrKey) {
    return view + ":" + setOrKey;
  }

  /** The tag an update's keys share. */
  public static int tagOf(ViewUpdate update) {
    return tag(tagSource(update.view, update.rankSet != null ? update.rankSet : update.key));
  }

  public static String entry(int generation, String view, String key, int tag) {
    return prefix(tag, generation) + view + ":" + key;
  }

  /** The entry key of an unranked entry. */
  public static String entry(int generation, String view, String key) {
    return entry(generation, view, key, tag(tagSource(view, key)));
  }

  /** The entry key of an entry ranked in {@code set}. */
  public static String rankedEntry(int generation, String view, String set, String key) {
    return entry(generation, view, key, tag(tagSource(view, set)));
  }

  /** The sorted set of a ranking, e.g. a hunt's leaderboard. */
  public static String rank(int generation, String view, String set) {
    return rank(generation, view, set, tag(tagSource(view, set)));
  }

  /** As {@link #rank(int, String, String)}, with the set's tag already known. */
  public static String rank(int generation, String view, String set, int tag) {
    return prefix(tag, generation) + view + ":" + set + RANK_SUFFIX;
  }

  /** The cached rendering of a ranking, which every change to it deletes. */
  public static String rankCache(int generation, String view, String set) {
    return cacheOf(rank(generation, view, set));
  }

  /** The cached rendering of the ranking with key {@code rankKey}. */
  public static String cacheOf(String rankKey) {
    return rankKey + CACHE_SUFFIX;
  }

  /**
   * The completeness marker of a tag: present only while Valkey holds every entry of the tag that
   * PostgreSQL holds ({@link CacheWarmer}). View names never start with {@code _}, so no entry key
   * is ever the marker.
   */
  public static String complete(int generation, int tag) {
    return prefix(tag, generation) + COMPLETE;
  }

  /**
   * Whether a generation's key is one of its markers ({@code _complete}, {@code _warming}) rather
   * than an entry or a ranking.
   */
  public static boolean reserved(String key) {
    return parse(key).kind() == Kind.MARKER;
  }

  /** What a key of a generation holds. */
  public enum Kind {
    /** An entry (hash) of a view. */
    ENTRY,
    /** A ranking (sorted set). */
    RANK,
    /** A ranking's cached rendering. */
    RANK_CACHE,
    /** A tag's marker ({@code _complete}, {@code _warming}). */
    MARKER
  }

  /**
   * A key of a generation, taken apart.
   *
   * @param view the view; null for a marker
   * @param name the entry key (an entry), the set (a ranking, its cache) or the marker's name
   */
  public record Key(int tag, int generation, Kind kind, String view, String name) {}

  /**
   * Takes a key of a generation apart ({@code tally:{NN}:g<gen>:…}, as built here).
   *
   * @throws IllegalArgumentException for a key of another shape
   */
  public static Key parse(String key) {
    if (!key.startsWith("tally:{") || key.length() < 13 || !key.startsWith("}:g", 9)) {
      throw new IllegalArgumentException("'" + key + "' is not a key of a view generation");
    }
    int tag;
    int afterGeneration = key.indexOf(':', 12);
    int generation;
    try {
      tag = Integer.parseInt(key.substring(7, 9));
      generation = Integer.parseInt(key.substring(12, afterGeneration));
    } catch (NumberFormatException | StringIndexOutOfBoundsException e) {
      throw new IllegalArgumentException("'" + key + "' is not a key of a view generation");
    }
    String rest = key.substring(afterGeneration + 1);
    if (rest.startsWith("_")) {
      return new Key(tag, generation, Kind.MARKER, null, rest);
    }
    int colon = rest.indexOf(':');
    if (colon <= 0) {
      throw new IllegalArgumentException("'" + key + "' names no view");
    }
    String view = rest.substring(0, colon);
    String name = rest.substring(colon + 1);
    // Only a ranked view has rankings, and a set (a hunt) never holds the key separator: an
    // entry key that merely ends in ":rank" (a user named so) stays an entry.
    if (!rankedView(view) || name.indexOf(ViewCatalog.KEY_SEPARATOR) >= 0) {
      return new Key(tag, generation, Kind.ENTRY, view, name);
    }
    if (name.endsWith(RANK_SUFFIX + CACHE_SUFFIX)) {
      return new Key(
          tag,
          generation,
          Kind.RANK_CACHE,
          view,
          name.substring(0, name.length() - RANK_SUFFIX.length() - CACHE_SUFFIX.length()));
    }
    if (name.endsWith(RANK_SUFFIX)) {
      return new Key(
          tag,
          generation,
          Kind.RANK,
          view,
          name.substring(0, name.length() - RANK_SUFFIX.length()));
    }
    return new Key(tag, generation, Kind.ENTRY, view, name);
  }

  private static boolean rankedView(String view) {
    for (ViewCatalog known : ViewCatalog.values()) {
      if (known.id().equals(view)) {
        return known.ranked();
      }
    }
    return false;
  }

  /**
   * The SCAN pattern matching every key of a generation, and no other generation's: the tag is two
   * digits, so an entry key holding {@code }:g<gen>:} cannot match it.
   */
  public static String scanPattern(int generation) {
    return "tally:{[0-9][0-9]}:g" + generation + ":*";
  }

  /** The same key in another generation (only its {@code g<gen>} part differs). */
  public static String inGeneration(String key, int generation) {
    Key parsed = parse(key);
    String from = "}:g" + parsed.generation() + ":";
    return key.substring(0, 9) + "}:g" + generation + ":" + key.substring(9 + from.length());
  }

  /** The token of a warm-up refilling a tag. */
  public static String warming(int generation, int tag) {
    return prefix(tag, generation) + WARMING;
  }

  /** The prefix of every key of a generation and tag, e.g. {@code tally:{07}:g1:}. */
  public static String prefix(int tag, int generation) {
    Prefixes cached = prefixes;
    if (cached.generation != generation) {
      cached = new Prefixes(generation);
      prefixes = cached;
    }
    return cached.byTag[tag];
  }

  /** Every tag's prefix of one generation: built once, not once per key (a hot path). */
  private static final class Prefixes {
    final int generation;
    final String[] byTag = new String[TAGS];

    Prefixes(int generation) {
      this.generation = generation;
      for (int tag = 0; tag < TAGS; tag++) {
        byTag[tag] = "tally:{" + (tag < 10 ? "0" : "") + tag + "}:g" + generation + ":";
      }
    }
  }

  // Immutable once published; a race only builds the same table twice.
  private static volatile Prefixes prefixes = new Prefixes(1);
}
