package dev.tally.cli;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The series selectors a PromQL expression reads: each metric name with its label matchers, e.g.
 * {@code flink_jobmanager_job_numRestarts{job_name=~"tally_.*"}}, so each can be queried on its own
 * ("does this alert read anything at all?"). A name counts as a metric when it starts with one of
 * the given prefixes; quoted strings (label_replace's arguments, matcher values) are skipped, so a
 * regex such as {@code "valkey_(p[0-9])"} is never taken for a metric. Not a PromQL parser: the
 * expressions it reads are Tally's own (deploy/prometheus/alerts.yml, deploy/grafana/tally.json).
 */
final class PromqlSelectors {

  private PromqlSelectors() {}

  /**
   * The distinct selectors of {@code expression} whose metric starts with one of {@code prefixes}.
   */
  static List<String> of(String expression, List<String> prefixes) {
    Set<String> selectors = new LinkedHashSet<>();
    int i = 0;
    int n = expression.length();
    while (i < n) {
      char c = expression.charAt(i);
      if (c == '"' || c == '\'' || c == '`') {
        i = afterQuoted(expression, i);
      } else if (nameStart(c) && (i == 0 || !namePart(expression.charAt(i - 1)))) {
        int end = i;
        while (end < n && namePart(expression.charAt(end))) {
          end++;
        }
        String name = expression.substring(i, end);
        int next = skipSpaces(expression, end);
        boolean metric = prefixes.stream().anyMatch(name::startsWith);
        if (metric && next < n && expression.charAt(next) == '{') {
          int close = matchers(expression, next);
          selectors.add(name + expression.substring(next, close));
          i = close;
        } else {
          if (metric) {
            selectors.add(name);
          }
          i = end;
        }
      } else {
        i++;
      }
    }
    return new ArrayList<>(selectors);
  }

  /** The index after the closing quote of the string starting at {@code from}. */
  private static int afterQuoted(String text, int from) {
    char quote = text.charAt(from);
    int i = from + 1;
    while (i < text.length() && text.charAt(i) != quote) {
      i += text.charAt(i) == '\\' && quote != '`' ? 2 : 1;
    }
    return Math.min(text.length(), i + 1);
  }

  /** The index after the {@code }} closing the matchers opened at {@code open}. */
  private static int matchers(String text, int open) {
    int i = open + 1;
    while (i < text.length() && text.charAt(i) != '}') {
      char c = text.charAt(i);
      i = c == '"' || c == '\'' || c == '`' ? afterQuoted(text, i) : i + 1;
    }
    if (i >= text.length()) {
      throw new IllegalArgumentException("unclosed '{' in PromQL expression: " + text);
    }
    return i + 1;
  }

  private static int skipSpaces(String text, int from) {
    int i = from;
    while (i < text.length() && Character.isWhitespace(text.charAt(i))) {
      i++;
    }
    return i;
  }

  private static boolean nameStart(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
  }

  private static boolean namePart(char c) {
    return nameStart(c) || (c >= '0' && c <= '9');
  }
}
