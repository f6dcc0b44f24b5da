package dev.tally.common.replay;

import dev.tally.common.views.PipelinedReads;
import dev.tally.common.views.ValkeyViewStore;
import dev.tally.common.views.ViewCatalog;
import dev.tally.common.views.ViewKeys;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.zip.CRC32;

/**
 * Compares a new view generation with the live one in Valkey, before a cutover.
 *
 * <p>Each entry hash carries its served version {@code _v}: the number of events its writers folded
 * in. Both generations fold the same log with the same writers, so where the versions are equal the
 * values must be equal; that is the range both cover, and its checksums must match. A
 * new-generation entry with a higher version has simply read further (it keeps running) and is
 * counted as ahead. What refuses a cutover: an entry of the live generation that the new one lacks
 * or holds at a lower version (readers would see it vanish or go back), equal versions with
 * different values, or a ranking member the new generation lacks (a partial leaderboard).
 */
public final class GenerationComparison {

  /** Per view: entry counts, the covered range and its checksums, and what differs. */
  public static final class ViewCounts {
    public final String view;
    public long liveEntries;
    public long nextEntries;
    public long covered;
    public long ahead;
    public long missing;
    public long behind;
    public long different;
    public long rankings;
    public long rankMembersMissing;
    long liveChecksum;
    long nextChecksum;

    ViewCounts(String view) {
      this.view = view;
    }

    public String liveChecksum() {
      return Long.toHexString(liveChecksum);
    }

    public String nextChecksum() {
      return Long.toHexString(nextChecksum);
    }

    public boolean clean() {
      return missing == 0
          && behind == 0
          && different == 0
          && rankMembersMissing == 0
          && liveChecksum == nextChecksum;
    }
  }

  public final int live;
  public final int next;
  public final Map<String, ViewCounts> views = new TreeMap<>();
  public final List<String> differences = new ArrayList<>();
  private static final int MAX_LISTED = 20;
  private long unlisted;

  private GenerationComparison(int live, int next) {
    this.live = live;
    this.next = next;
  }

  /** True when nothing would refuse the cutover. */
  public boolean clean() {
    return views.values().stream().allMatch(ViewCounts::clean);
  }

  /** Reads both generations from Valkey and compares them. */
  public static GenerationComparison compare(Generations generations, int live, int next) {
    return compare(generations, live, next, generations.keys(live), generations.keys(next));
  }

  /**
   * Compares only the live generation's entries {@code liveEntries} (and the rankings they are
   * ranked in) with the next generation's: what changed since a full comparison found both equal.
   * The next generation's entry count is then that of those entries it holds.
   */
  public static GenerationComparison compareEntries(
      Generations generations, int live, int next, Set<String> liveEntries) {
    Set<String> keys = new java.util.TreeSet<>();
    for (String key : liveEntries) {
      ViewKeys.Key parsed = ViewKeys.parse(key);
      if (parsed.kind() != ViewKeys.Kind.ENTRY || parsed.generation() != live) {
        continue;
      }
      keys.add(key);
      String set = ViewCatalog.byId(parsed.view()).setOf(parsed.name());
      if (set != null) {
        keys.add(ViewKeys.rank(live, parsed.view(), set));
      }
    }
    return compare(generations, live, next, keys, null);
  }

  /**
   * @param nextKeys null: count the next generation's entries among those compared
   */
  private static GenerationComparison compare(
      Generations generations, int live, int next, Set<String> liveKeys, Set<String> nextKeys) {
    GenerationComparison result = new GenerationComparison(live, next);
    List<String> liveEntries = new ArrayList<>();
    List<String> liveRanks = new ArrayList<>();
    for (String key : liveKeys) {
      switch (ViewKeys.parse(key).kind()) {
        case RANK -> liveRanks.add(key);
        case ENTRY -> liveEntries.add(key);
        default -> {}
      }
    }
    for (String key : nextKeys == null ? Set.<String>of() : nextKeys) {
      ViewKeys.Key parsed = ViewKeys.parse(key);
      if (parsed.kind() == ViewKeys.Kind.ENTRY) {
        result.counts(parsed.view()).nextEntries++;
      }
    }
    List<String> mapped = liveEntries.stream().map(key -> result.inNext(key)).toList();
    List<Map<String, String>> liveValues =
        PipelinedReads.hashes(generations.valkeyClient(), liveEntries);
    List<Map<String, String>> nextValues =
        PipelinedReads.hashes(generations.valkeyClient(), mapped);
    Set<String> nextSeen = new HashSet<>();
    for (int i = 0; i < liveEntries.size(); i++) {
      String key = liveEntries.get(i);
      ViewCounts counts = result.counts(viewOf(key));
      counts.liveEntries++;
      Map<String, String> before = ValkeyViewStore.served(liveValues.get(i));
      Map<String, String> after = ValkeyViewStore.served(nextValues.get(i));
      if (nextKeys == null && !after.isEmpty()) {
        counts.nextEntries++;
      }
      if (after.isEmpty()) {
        counts.missing++;
        result.note("missing in g" + next + ": " + key + " " + before);
        continue;
      }
      nextSeen.add(mapped.get(i));
      long liveVersion = version(before);
      long nextVersion = version(after);
      if (nextVersion > liveVersion) {
        counts.ahead++;
      } else if (nextVersion < liveVersion) {
        counts.behind++;
        result.note("behind in g" + next + ": " + key + " " + before + " vs " + after);
      } else {
        counts.covered++;
        ViewKeys.Key parsed = ViewKeys.parse(key);
        String suffix = ":" + parsed.view() + ":" + parsed.name();
        counts.liveChecksum += crc(suffix + before);
        counts.nextChecksum += crc(suffix + after);
        if (!before.equals(after)) {
          counts.different++;
          result.note(
              "different at version " + liveVersion + ": " + key + " " + before + " vs " + after);
        }
      }
    }
    List<List<String>> liveMembers = PipelinedReads.members(generations.valkeyClient(), liveRanks);
    List<List<String>> nextMembers =
        PipelinedReads.members(
            generations.valkeyClient(), liveRanks.stream().map(result::inNext).toList());
    for (int i = 0; i < liveRanks.size(); i++) {
      ViewCounts counts = result.counts(viewOf(liveRanks.get(i)));
      counts.rankings++;
      Set<String> present = new HashSet<>(nextMembers.get(i));
      for (String member : liveMembers.get(i)) {
        if (!present.contains(member)) {
          counts.rankMembersMissing++;
          result.note("ranking " + result.inNext(liveRanks.get(i)) + " lacks member " + member);
        }
      }
    }
    return result;
  }

  /** Prints the per-view table and the first differences. */
  public void print(PrintWriter out) {
    out.printf(
        "%-12s %10s %10s %10s %8s %8s %8s %9s %9s  %-17s%n",
        "view",
        "g" + live + " keys",
        "g" + next + " keys",
        "covered",
        "ahead",
        "missing",
        "behind",
        "different",
        "rank-miss",
        "checksum (covered)");
    for (ViewCounts counts : views.values()) {
      out.printf(
          "%-12s %,10d %,10d %,10d %,8d %,8d %,8d %,9d %,9d  %s%n",
          counts.view,
          counts.liveEntries,
          counts.nextEntries,
          counts.covered,
          counts.ahead,
          counts.missing,
          counts.behind,
          counts.different,
          counts.rankMembersMissing,
          counts.liveChecksum == counts.nextChecksum
              ? counts.liveChecksum() + " = "
              : counts.liveChecksum() + " ≠ " + counts.nextChecksum());
    }
    differences.forEach(line -> out.println("  " + line));
    if (unlisted > 0) {
      out.printf("  … and %,d more differences%n", unlisted);
    }
    out.flush();
  }

  private ViewCounts counts(String view) {
    return views.computeIfAbsent(view, ViewCounts::new);
  }

  private void note(String line) {
    if (differences.size() < MAX_LISTED) {
      differences.add(line);
    } else {
      unlisted++;
    }
  }

  /** The same key in the next generation. */
  String inNext(String liveKey) {
    return ViewKeys.inGeneration(liveKey, next);
  }

  /** {@code tally:{07}:g1:user_score:user-7} → {@code user_score}. */
  static String viewOf(String key) {
    return ViewKeys.parse(key).view();
  }

  private static long version(Map<String, String> served) {
    String version = served.get("_v");
    return version == null ? 0 : Long.parseLong(version);
  }

  private static long crc(String text) {
    CRC32 crc = new CRC32();
    crc.update(text.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    return crc.getValue();
  }
}
