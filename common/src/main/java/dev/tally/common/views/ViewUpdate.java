package dev.tally.common.views;

import java.io.Serializable;
import java.util.List;
import java.util.Objects;

/**
 * One writer's new state of one view entry: what every sink writes. A Flink POJO (public fields,
 * no-arg constructor) so it travels between operators without Kryo.
 *
 * <p>{@code partial} is the writer's whole contribution to the entry, not a delta, encoded as
 * {@code op:field=value;…} with {@code op} one of {@code sum}, {@code max}, {@code min} and integer
 * values: the stores merge the partials of every writer of an entry field by field with that op.
 * {@code version} grows by one with each event the writer applied to the entry, so a store keeps an
 * update only when its version is greater than the one it holds for that writer.
 */
public class ViewUpdate implements Serializable {

  private static final long serialVersionUID = 1L;

  /** The view, e.g. {@code user_score}. */
  public String view;

  /** The entry within the view, e.g. a user id. */
  public String key;

  /** Who computed the partial: a job and the lane it read, e.g. {@code live/p0}. */
  public String writer;

  /** This writer's version of the entry. */
  public long version;

  /** The encoded partial, see the class comment. */
  public String partial;

  /** The ranking (e.g. a hunt) this entry is a member of, or null. */
  public String rankSet;

  /** The entry's member name in {@link #rankSet}. */
  public String rankMember;

  /** The merged field the entry ranks by. */
  public String rankField;

  /** Kafka append time of the event that caused this update: end-to-end latency starts there. */
  public long sourceTimestamp;

  /**
   * {@link #partial}'s fields when this update was built from them (or once parsed): the writers
   * read these instead of parsing the text again. Not serialized (a POJO's transient field): after
   * a network channel or a restore the text is parsed once, on first use.
   */
  private transient Parsed parsed;

  /** A partial's text and its fields: a partial set afterwards (a reused instance) is parsed. */
  private record Parsed(String text, List<Partial.Field> fields) {}

  public ViewUpdate() {}

  /** An update whose partial is {@code partial}'s text and fields. */
  public ViewUpdate(
      String view, String key, String writer, long version, Partial partial, long sourceTimestamp) {
    this(view, key, writer, version, partial.build(), sourceTimestamp);
    this.parsed = new Parsed(this.partial, partial.fields());
  }

  public ViewUpdate(
      String view, String key, String writer, long version, String partial, long sourceTimestamp) {
    this.view = view;
    this.key = key;
    this.writer = writer;
    this.version = version;
    this.partial = partial;
    this.sourceTimestamp = sourceTimestamp;
  }

  /** A copy, for operators that hold updates across calls while object reuse is on. */
  public ViewUpdate copy() {
    ViewUpdate copy = new ViewUpdate(view, key, writer, version, partial, sourceTimestamp);
    copy.parsed = parsed;
    copy.rankSet = rankSet;
    copy.rankMember = rankMember;
    copy.rankField = rankField;
    return copy;
  }

  /** The partial's fields, in order (see {@link Partial#parse}). */
  public List<Partial.Field> fields() {
    String text = partial;
    Parsed known = parsed;
    if (known == null || known.text != text) {
      known = new Parsed(text, Partial.parse(text));
      parsed = known;
    }
    return known.fields;
  }

  /** The same update, ranked in {@code set} as {@code member} by {@code field}. */
  public ViewUpdate rankedIn(String set, String member, String field) {
    this.rankSet = set;
    this.rankMember = member;
    this.rankField = field;
    return this;
  }

  /**
   * Entries are identified by view and key; each writer has its own partial of an entry. The
   * identity holds the update's own strings, whose hashes Java caches: building it costs no
   * concatenation and hashing it no pass over the key (the writers coalesce millions of updates).
   */
  public Identity coalesceKey() {
    return new Identity(view, key, writer);
  }

  /** What updates coalesce by: one view entry of one writer. */
  public record Identity(String view, String key, String writer) {

    // Written out: a record's generated equals and hashCode go through method handles, which
    // showed in profiles of the writers' coalescing (millions of map operations per run).
    @Override
    public boolean equals(Object o) {
      return o instanceof Identity other
          && Objects.equals(key, other.key)
          && Objects.equals(view, other.view)
          && Objects.equals(writer, other.writer);
    }

    @Override
    public int hashCode() {
      return (Objects.hashCode(view) * 31 + Objects.hashCode(key)) * 31 + Objects.hashCode(writer);
    }
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof ViewUpdate other)) {
      return false;
    }
    return version == other.version
        && sourceTimestamp == other.sourceTimestamp
        && Objects.equals(view, other.view)
        && Objects.equals(key, other.key)
        && Objects.equals(writer, other.writer)
        && Objects.equals(partial, other.partial)
        && Objects.equals(rankSet, other.rankSet)
        && Objects.equals(rankMember, other.rankMember)
        && Objects.equals(rankField, other.rankField);
  }

  @Override
  public int hashCode() {
    return Objects.hash(view, key, writer, version, partial);
  }

  @Override
  public String toString() {
    return view
        + "/"
        + key
        + " by "
        + writer
        + " v"
        + version
        + " "
        + partial
        + (rankSet == null ? "" : " rank " + rankSet + ":" + rankMember + " by " + rankField);
  }
}
