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

  private ViewKeys() {}

  /** The hash tag number of a tag source: CRC32 of its UTF-8 bytes, mod {@link #TAGS}. */
  public static int tag(String tagSource) {
    CRC32 crc = new CRC32();
    crc.update(tagSource.getBytes(StandardCharsets.UTF_8));
    return (int) (crc.getValue() % TAGS);
  }

  /** The tag an update's keys share. */
  public static int tagOf(ViewUpdate update) {
    return tag(
        update.rankSet != null
            ? update.view + ":" + update.rankSet
            : update.view + ":" + update.key);
  }

  public static String entry(int generation, String view, String key, int tag) {
    return prefix(tag, generation) + view + ":" + key;
  }

  /** The entry key of an unranked entry. */
  public static String entry(int generation, String view, String key) {
    return entry(generation, view, key, tag(view + ":" + key));
  }

  /** The entry key of an entry ranked in {@code set}. */
  public static String rankedEntry(int generation, String view, String set, String key) {
    return entry(generation, view, key, tag(view + ":" + set));
  }

  /** The sorted set of a ranking, e.g. a hunt's leaderboard. */
  public static String rank(int generation, String view, String set) {
    return rank(generation, view, set, tag(view + ":" + set));
  }

  /** As {@link #rank(int, String, String)}, with the set's tag already known. */
  public static String rank(int generation, String view, String set, int tag) {
    return prefix(tag, generation) + view + ":" + set + ":rank";
  }

  /** The cached rendering of a ranking, which every change to it deletes. */
  public static String rankCache(int generation, String view, String set) {
    return cacheOf(rank(generation, view, set));
  }

  /** The cached rendering of the ranking with key {@code rankKey}. */
  public static String cacheOf(String rankKey) {
    return rankKey + ":cache";
  }

  /**
   * The completeness marker of a tag: present only while Valkey holds every entry of the tag that
   * PostgreSQL holds ({@link CacheWarmer}). View names never start with {@code _}, so no entry key
   * is ever the marker.
   */
  public static String complete(int generation, int tag) {
    return prefix(tag, generation) + "_complete";
  }

  /**
   * Whether a generation's key is one of its markers ({@code _complete}, {@code _warming}) rather
   * than an entry or a ranking.
   */
  public static boolean reserved(String key) {
    int at = key.indexOf("}:") + 2;
    int afterGeneration = key.indexOf(':', at) + 1;
    return afterGeneration > 0
        && afterGeneration < key.length()
        && key.charAt(afterGeneration) == '_';
  }

  /** The token of a warm-up refilling a tag. */
  public static String warming(int generation, int tag) {
    return prefix(tag, generation) + "_warming";
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
