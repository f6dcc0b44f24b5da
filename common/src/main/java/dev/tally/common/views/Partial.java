package dev.tally.common.views;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Builds and reads the {@code op:field=value;…} encoding of a writer's partial value (see {@link
 * ViewUpdate}). Field names must not contain {@code : = ;}; values are integers.
 */
public final class Partial {

  /** How the partials of several writers combine into the served field. */
  public enum Op {
    SUM,
    MAX,
    MIN;

    String code() {
      return name().toLowerCase();
    }
  }

  private static final java.util.regex.Pattern FIELD_NAME =
      java.util.regex.Pattern.compile("[a-z][a-z0-9_]*");

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
    if (field.indexOf(':') >= 0
        || field.indexOf('=') >= 0
        || field.indexOf(';') >= 0
        || field.startsWith("_")) {
      throw new IllegalArgumentException(
          "field name '" + field + "' must not start with _ or contain : = ;");
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

  /** Merges encoded partials the way the stores do: field by field with each field's op. */
  public static Map<String, Long> merge(Iterable<String> partials) {
    Map<String, Long> merged = new LinkedHashMap<>();
    for (String partial : partials) {
      for (String part : partial.split(";")) {
        if (part.isEmpty()) {
          continue;
        }
        int colon = part.indexOf(':');
        int equals = part.indexOf('=');
        Op op = Op.valueOf(part.substring(0, colon).toUpperCase());
        String field = part.substring(colon + 1, equals);
        long value = Long.parseLong(part.substring(equals + 1));
        merged.merge(
            field,
            value,
            (current, next) ->
                switch (op) {
                  case SUM -> current + next;
                  case MAX -> Math.max(current, next);
                  case MIN -> Math.min(current, next);
                });
      }
    }
    return merged;
  }
}
