package dev.tally.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * Every {@code tally} command the runbook prints parses as the CLI reads it: a renamed or removed
 * command or option fails here, not in an SRE's terminal. (What the commands do is shown by the ITs
 * the runbook names, e.g. {@code ReplayIT}.)
 */
class RunbookCommandsTest {

  private static final Path RUNBOOK = Path.of("../docs/runbook.md");

  /** {@code tally …} at a code block's line start (after {@code $ }), or in backticks. */
  private static final Pattern IN_BLOCK = Pattern.compile("^(?:\\$ )?(?:bin/)?tally (.+)$");

  private static final Pattern INLINE = Pattern.compile("`(?:bin/)?tally ([^`]+)`");

  @Test
  void everyCommandTheRunbookPrintsParses() throws IOException {
    List<Printed> commands = commands(Files.readAllLines(RUNBOOK));
    assertThat(commands).as("commands found in docs/runbook.md").hasSizeGreaterThan(20);
    List<String> wrong = new ArrayList<>();
    for (Printed printed : commands) {
      String refusal = catchRefusal(() -> parse(printed.command()));
      if (printed.showsARefusal() && refusal.isEmpty()) {
        wrong.add(printed.command() + ": shown refused, but parses");
      } else if (!printed.showsARefusal() && !refusal.isEmpty()) {
        wrong.add(printed.command() + ": " + refusal);
      }
    }
    assertThat(wrong).as("runbook commands the CLI does not read as printed").isEmpty();
  }

  private static void parse(String command) {
    CommandLine.ParseResult parsed =
        TallyCli.commandLine().parseArgs(arguments(command).toArray(String[]::new));
    if (!parsed.hasSubcommand()) {
      throw new CommandLine.ParameterException(TallyCli.commandLine(), "names no command");
    }
  }

  /**
   * A command the runbook prints.
   *
   * @param showsARefusal the runbook shows the CLI refusing its arguments (usage and "Invalid
   *     value" printed after it)
   */
  record Printed(String command, boolean showsARefusal) {}

  @Test
  void aRenamedOptionWouldBeCaught() {
    assertThat(
            catchRefusal(
                () ->
                    TallyCli.commandLine().parseArgs("replay", "cutover", "--grace-period", "1h")))
        .contains("Unknown options: '--grace-period'");
  }

  private static String catchRefusal(Runnable parse) {
    try {
      parse.run();
      return "";
    } catch (CommandLine.ParameterException e) {
      return e.getMessage();
    }
  }

  static List<Printed> commands(List<String> lines) {
    List<Printed> commands = new ArrayList<>();
    boolean inBlock = false;
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i);
      if (line.startsWith("```")) {
        inBlock = !inBlock;
        continue;
      }
      if (inBlock) {
        Matcher block = IN_BLOCK.matcher(line.strip());
        // Lines of output ("tally replay plan: error: …") are not commands.
        if (block.matches() && !line.contains(": error:")) {
          boolean refused = i + 1 < lines.size() && lines.get(i + 1).startsWith("Invalid value");
          commands.add(new Printed(block.group(1), refused));
        }
      } else {
        Matcher inline = INLINE.matcher(line);
        while (inline.find()) {
          commands.add(new Printed(inline.group(1), false));
        }
      }
    }
    return commands;
  }

  /**
   * A command as printed, made concrete: the comment dropped, optional parts kept (brackets
   * removed), placeholders given a value of their kind.
   */
  static List<String> arguments(String command) {
    String text = command.replaceAll("\\s+#.*$", "").replace("[", "").replace("]", "");
    text = text.replace("<position>", "earliest").replace("<n>", "2").replace(" N ", " 2 ");
    text = text.replaceAll(" N$", " 2").replaceAll("<[^>]+>", "x").replace("…", "");
    return new ArrayList<>(Arrays.asList(text.strip().split("\\s+")));
  }
}
