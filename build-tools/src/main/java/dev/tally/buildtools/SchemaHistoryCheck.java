package dev.tally.buildtools;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaCompatibility.Incompatibility;
import org.apache.avro.SchemaCompatibility.SchemaCompatibilityType;
import org.apache.avro.SchemaCompatibility.SchemaPairCompatibility;
import org.apache.avro.SchemaNormalization;

/**
 * The build-time guard of the event contract. It fails the build when the current schema
 *
 * <ul>
 *   <li>cannot read data written with any version kept in the history directory (Avro's {@link
 *       SchemaCompatibility}: the current schema as reader, each old one as writer), or
 *   <li>is not itself the newest history version (same parsing canonical form, hence the same
 *       fingerprint), so every schema a producer can write with is known to every reader.
 * </ul>
 *
 * <p>History files are named {@code <name>-v<N>.avsc}, numbered from 1 without gaps.
 *
 * <p>Usage (the schemas module runs it at {@code process-resources}): {@code SchemaHistoryCheck
 * <current.avsc> <history-dir> <name>}.
 */
public final class SchemaHistoryCheck {

  private static final String USAGE =
      "usage: SchemaHistoryCheck <current.avsc> <history-dir> <name>";

  /** What the check found; {@link #problems()} is empty when the schema may ship. */
  public record Report(List<String> checkedVersions, List<String> problems) {
    public boolean passed() {
      return problems.isEmpty();
    }
  }

  private SchemaHistoryCheck() {}

  public static void main(String[] args) throws IOException {
    if (args.length != 3) {
      throw new IllegalArgumentException(USAGE);
    }
    Report report = check(Path.of(args[0]), Path.of(args[1]), args[2]);
    if (!report.passed()) {
      throw new IllegalStateException(
          "schema check failed for "
              + args[0]
              + ":\n  - "
              + String.join("\n  - ", report.problems())
              + "\nSee docs/events.md, 'Evolving the schema'.");
    }
    System.out.println(
        "schema check: " + args[0] + " reads " + String.join(", ", report.checkedVersions()));
  }

  /** Runs the check without failing: the caller decides. */
  public static Report check(Path current, Path historyDir, String name) throws IOException {
    Schema reader = parse(current);
    List<Path> history = historyFiles(historyDir, name);
    List<String> problems = new ArrayList<>();
    List<String> checked = new ArrayList<>();
    if (history.isEmpty()) {
      problems.add("no history versions " + name + "-v<N>.avsc in " + historyDir);
      return new Report(checked, problems);
    }
    for (int i = 0; i < history.size(); i++) {
      int expected = i + 1;
      if (versionOf(history.get(i), name) != expected) {
        problems.add(
            "history versions must be numbered 1, 2, 3 …; "
                + name
                + "-v"
                + expected
                + ".avsc is missing");
        return new Report(checked, problems);
      }
    }
    for (Path old : history) {
      Schema writer = parse(old);
      SchemaPairCompatibility result =
          SchemaCompatibility.checkReaderWriterCompatibility(reader, writer);
      String version = old.getFileName().toString();
      checked.add(version);
      if (result.getType() != SchemaCompatibilityType.COMPATIBLE) {
        for (Incompatibility incompatibility : result.getResult().getIncompatibilities()) {
          problems.add(
              "cannot read data written with "
                  + version
                  + ": "
                  + incompatibility.getType()
                  + " at "
                  + incompatibility.getLocation()
                  + " ("
                  + incompatibility.getMessage()
                  + ")");
        }
      }
    }
    Path newest = history.get(history.size() - 1);
    if (!SchemaNormalization.toParsingForm(reader)
        .equals(SchemaNormalization.toParsingForm(parse(newest)))) {
      problems.add(
          current.getFileName()
              + " differs from the newest history version "
              + newest.getFileName()
              + " on the wire: once it passes the compatibility check, add it as "
              + name
              + "-v"
              + (history.size() + 1)
              + ".avsc");
    }
    return new Report(checked, problems);
  }

  private static List<Path> historyFiles(Path dir, String name) throws IOException {
    Pattern pattern = Pattern.compile(Pattern.quote(name) + "-v(\\d+)\\.avsc");
    try (Stream<Path> files = Files.list(dir)) {
      return files
          .filter(f -> pattern.matcher(f.getFileName().toString()).matches())
          .sorted(Comparator.comparingInt(f -> versionOf(f, name)))
          .toList();
    }
  }

  private static int versionOf(Path file, String name) {
    Matcher matcher =
        Pattern.compile(Pattern.quote(name) + "-v(\\d+)\\.avsc")
            .matcher(file.getFileName().toString());
    if (!matcher.matches()) {
      throw new IllegalArgumentException("not a history file: " + file);
    }
    return Integer.parseInt(matcher.group(1));
  }

  private static Schema parse(Path file) throws IOException {
    try {
      return new Schema.Parser().parse(file.toFile());
    } catch (org.apache.avro.SchemaParseException e) {
      throw new IllegalStateException("cannot parse " + file + ": " + e.getMessage(), e);
    }
  }
}
