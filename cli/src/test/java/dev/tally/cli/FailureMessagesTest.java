package dev.tally.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.valkey.exceptions.JedisAccessControlException;
import io.valkey.exceptions.JedisConnectionException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** How the command line reports what a command threw: one line for what is expected. */
class FailureMessagesTest {

  @CommandLine.Command(name = "boom")
  static final class Boom implements Callable<Integer> {
    final RuntimeException failure;

    Boom(RuntimeException failure) {
      this.failure = failure;
    }

    @Override
    public Integer call() {
      throw failure;
    }
  }

  private static String[] run(RuntimeException failure) {
    CommandLine commandLine = TallyCli.commandLine();
    commandLine.addSubcommand("boom", new Boom(failure));
    StringWriter err = new StringWriter();
    commandLine.setErr(new PrintWriter(err));
    int code = commandLine.execute("boom");
    return new String[] {Integer.toString(code), err.toString()};
  }

  @Test
  void aValkeyRefusingTheClientIsOneLineSayingHowToLogIn() {
    String[] refused = run(new JedisAccessControlException("NOAUTH Authentication required."));
    assertThat(refused[0]).isEqualTo("1");
    assertThat(refused[1])
        .isEqualTo(
            "tally boom: error: Valkey: NOAUTH Authentication required. (give the user and"
                + " password: redis://user:password@host:port or $TALLY_VALKEY_PASSWORD; on the"
                + " local stack: eval \"$(deploy/local/stack.sh env)\")"
                + System.lineSeparator());

    String[] down = run(new JedisConnectionException("Failed to connect to 127.0.0.1:1"));
    assertThat(down[0]).isEqualTo("1");
    assertThat(down[1])
        .isEqualTo(
            "tally boom: error: Valkey: Failed to connect to 127.0.0.1:1" + System.lineSeparator());
  }

  @Test
  void aBugKeepsItsStackTrace() {
    String[] bug = run(new NullPointerException("x is null"));
    assertThat(bug[0]).isEqualTo("1");
    assertThat(bug[1]).contains("java.lang.NullPointerException: x is null").contains("\tat ");
  }
}
