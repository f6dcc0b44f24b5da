package dev.tally.cli;

import dev.tally.common.flink.FlinkRestClient;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code tally} command line: one entry point for the SRE and developer tasks around the event
 * log. Run {@code tally --help}, or {@code tally <command> --help}.
 *
 * <p>Exit codes: 0 success, 1 the task failed (the message says why), 2 bad arguments.
 */
@Command(
    name = "tally",
    mixinStandardHelpOptions = true,
    versionProvider = TallyCli.Version.class,
    description =
        "Tally: event-sourced views on Apache Flink. Manage the event log's topics and load, read the views, replay the log.",
    subcommands = {
      TopicsCommand.class,
      ProduceCommand.class,
      LagCommand.class,
      ViewCommand.class,
      CacheCommand.class,
      DbCommand.class,
      ServeCommand.class,
      FlinkCommand.class,
      VerifyCommand.class,
      ReplayCommand.class,
      MetricsCommand.class,
      CommandLine.HelpCommand.class
    })
public final class TallyCli {

  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }

  /** The configured command line, also used by tests to run commands in-process. */
  public static CommandLine commandLine() {
    CommandLine commandLine = new CommandLine(new TallyCli());
    commandLine.setExecutionExceptionHandler(
        (exception, cmd, parseResult) -> {
          // Expected failures get one clear line: a bad or missing argument exits 2 (as picocli's
          // own parse errors do), a refusal or an unreachable service 1; anything else keeps its
          // stack trace for a bug report.
          PrintWriter err = cmd.getErr();
          // A client call's future (the Kafka AdminClient's) wraps what went wrong.
          while ((exception instanceof java.util.concurrent.ExecutionException
                  || exception instanceof java.util.concurrent.CompletionException)
              && exception.getCause() instanceof Exception cause) {
            exception = cause;
          }
          if (exception instanceof IllegalArgumentException) {
            err.println(
                cmd.getCommandSpec().qualifiedName()
                    + ": error: "
                    + exception.getMessage()
                    + " (see: "
                    + cmd.getCommandSpec().qualifiedName()
                    + " --help)");
            err.flush();
            return 2;
          }
          if (exception instanceof org.apache.kafka.common.KafkaException) {
            // A Kafka client refusing its configuration (a properties file) or the cluster.
            Throwable root = exception;
            while (root.getCause() != null) {
              root = root.getCause();
            }
            err.println(
                cmd.getCommandSpec().qualifiedName()
                    + ": error: Kafka: "
                    + exception.getMessage()
                    + (root == exception ? "" : ": " + root.getMessage())
                    + (exception instanceof org.apache.kafka.common.errors.TimeoutException
                        ? " (no broker answered in time: is the cluster at --bootstrap-servers"
                            + " up and reachable?)"
                        : ""));
          } else if (exception instanceof io.valkey.exceptions.JedisException) {
            // Valkey unreachable, or refusing the client (no or wrong credentials, ACL).
            err.println(
                cmd.getCommandSpec().qualifiedName()
                    + ": error: Valkey: "
                    + exception.getMessage()
                    + (exception instanceof io.valkey.exceptions.JedisAccessControlException
                            || String.valueOf(exception.getMessage()).startsWith("NOAUTH")
                        ? " (give the user and password: redis://user:password@host:port or $"
                            + dev.tally.common.Environment.VALKEY_PASSWORD
                            + "; on the local stack: eval \"$(deploy/local/stack.sh env)\")"
                        : ""));
          } else if (exception instanceof IllegalStateException
              || exception instanceof FlinkRestClient.FlinkRestException) {
            err.println(
                cmd.getCommandSpec().qualifiedName() + ": error: " + exception.getMessage());
          } else {
            exception.printStackTrace(err);
          }
          err.flush();
          return 1;
        });
    return commandLine;
  }

  /** Reads the version Maven wrote into the jar's manifest. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String version = TallyCli.class.getPackage().getImplementationVersion();
      return new String[] {"tally " + (version == null ? "(development build)" : version)};
    }
  }
}
