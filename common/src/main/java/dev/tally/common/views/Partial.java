package dev.tally.common.views;

import java.util.ArrayList;
import java.util.List;

/**
 * Builds and reads the {@code op:field=value;…} encoding of a writer's partial value (see {@link
 * ViewUpdate}). Field names are {@code [a-z][a-z0-9_]*}; values are integers.
 */
public final class Partial {

  /** How the partials of several writers combine into the served field. */
  public enum Op {
    SUM,
    MAX,
    MIN;

    private final String code = name().toLowerCase(java.util.Locale.ROOT);

    public String code() {
      return code;
    }
  }

  /** One field of a partial. */
  public record Field(Op op, String name, long value) {}

  private static final String FIELD_NAME = "[a-z][a-z0-9_]*";

  private final StringBuilder text = new StringBuilder();
  private final List<Field> fields = new ArrayList<>(4);

  public static Partial builder() {
    return new Partial();
  }

  public Partial sum(String field, long value) {
    return add(Op.SUM, field, value);
  }

  public Partial max(String field, long value) {
    return add(Op.MAX, field, value);
  }

  public Partial min(String field, long value) {
    return add(Op.MIN, field, value);
  }

  public Partial add(Op op, String field, long value) {
    if (!validName(field)) {
      throw new IllegalArgumentException("field name '" + field + "' must match " + FIELD_NAME);
    }
    if (!text.isEmpty()) {
      text.append(';');
    }
    text.append(op.code()).append(':').append(field).append('=').append(value);
    fields.add(new Field(op, field, value));
    return this;
  }

  /** {@code [a-z][a-z0-9_]*}, without a regex: this runs for every field of every update. */
  private static boolean validName(String field) {
    if (field.isEmpty() || field.charAt(0) < 'a' || field.charAt(0) > 'z') {
      return false;
    }
    for (int i = 1; i < field.length(); i++) {
      char c = field.charAt(i);
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
        return false;
      }
    }
    return true;
  }

  public String build() {
    return text.toString();
  }

  /**
   * The fields added so far, in order: what {@link #parse} of {@link #build} returns, without the
   * parse (a view update carries both, so its writers never parse what was just built).
   */
  public List<Field> fields() {
    return List.copyOf(fields);
  }

  /** The fields of an encoded partial, in order. The one reader of the encoding. */
  public static List<Field> parse(String partial) {
    List<Field> fields = new ArrayList<>(4);
    int from = 0;
    while (from < partial.length()) {
      int end = partial.indexOf(';', from);
      if (end < 0) {
        end = partial.length();
      }
      if (end > from) {
        fields.add(field(partial, from, end));
      }
      from = end + 1;
    }
    return java.util.Collections.unmodifiableList(fields);
  }

  private static Field field(String partial, int from, int end) {
    int colon = partial.indexOf(':', from);
    int equals = partial.indexOf('=', from);
    if (colon < 0 || colon >= end || equals < colon || equals >= end) {
      throw new IllegalArgumentException(
          "partial field '" + partial.substring(from, end) + "' is not op:field=value");
    }
    return new Field(
        op(partial, from, colon),
        partial.substring(colon + 1, equals),
        Long.parseLong(partial, equals + 1, end, 10));
  }

  private static Op op(String partial, int from, int end) {
    for (Op op : OPS) {
      if (end - from == op.code.length() && partial.startsWith(op.code, from)) {
        return op;
      }
    }
    throw new IllegalArgumentException("unknown partial op '" + partial.substring(from, end) + "'");
  }

  private static final Op[] OPS = Op.values();
}
