package dev.tally.common.views;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

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

    public String code() {
      return name().toLowerCase();
    }
  }

  /** One field of a partial. */
  public record Field(Op op, String name, long value) {}

  private static final Pattern FIELD_NAME = Pattern.compile("[a-z][a-z0-9_]*");

  private final StringBuilder text = new StringBuilder();

  public static Partial builder() {
    return new Partial();
  }

  public Partial sum(String field, long value) {
    return add(Op.SUM, field, value);
  }

  public Partial max(String field, long value) {
    return add(Op.MAX, field, value);
  }

  public Partial add(Op op, String field, long value) {
    if (!FIELD_NAME.matcher(field).matches()) {
      throw new IllegalArgumentException(
          "field name '" + field + "' must match " + FIELD_NAME.pattern());
    }
    if (!text.isEmpty()) {
      text.append(';');
    }
    text.append(op.code()).append(':').append(field).append('=').append(value);
    return this;
  }

  public String build() {
    return text.toString();
  }

  /** The fields of an encoded partial, in order. The one reader of the encoding. */
  public static List<Field> parse(String partial) {
    List<Field> fields = new ArrayList<>();
    for (String part : partial.split(";")) {
      if (part.isEmpty()) {
        continue;
      }
      int colon = part.indexOf(':');
      int equals = part.indexOf('=');
      if (colon < 0 || equals < colon) {
        throw new IllegalArgumentException("partial field '" + part + "' is not op:field=value");
      }
      fields.add(
          new Field(
              Op.valueOf(part.substring(0, colon).toUpperCase()),
              part.substring(colon + 1, equals),
              Long.parseLong(part.substring(equals + 1))));
    }
    return fields;
  }
}
