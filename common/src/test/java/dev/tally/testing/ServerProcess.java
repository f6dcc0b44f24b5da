package dev.tally.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * An external server process (valkey-server, postgres) started by a fixture. Its output goes to a
 * log file under {@code target/}; it is stopped when the fixture closes and, failing that, when the
 * JVM exits, so no test run leaves a server behind.
 */
public final class ServerProcess implements AutoCloseable {

  private static final Duration STOP_GRACE = Duration.ofSeconds(10);

  private final String name;
  private final Process process;
  private final Path log;
  private final Thread shutdownHook;

  private ServerProcess(String name, Process process, Path log) {
    this.name = name;
    this.process = process;
    this.log = log;
    this.shutdownHook = new Thread(process::destroyForcibly, "stop-" + name);
    Runtime.getRuntime().addShutdownHook(shutdownHook);
  }

  /** Starts {@code command}, appending its stdout and stderr to {@code log}. */
  public static ServerProcess start(String name, List<String> command, Path log) {
    try {
      Process process =
          new ProcessBuilder(command)
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
              .start();
      return new ServerProcess(name, process, log);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + name + ": " + String.join(" ", command), e);
    }
  }

  /**
   * Runs {@code command} to completion (an init or set-up step) and fails with its output when it
   * exits non-zero or runs longer than {@code timeout}.
   */
  public static void runToCompletion(
      String what, List<String> command, Path log, Duration timeout) {
    try {
      Process process =
          new ProcessBuilder(command)
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
              .start();
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroyForcibly();
        throw new IllegalStateException(
            what + " did not finish within " + timeout + "; see " + log + "\n" + tail(log));
      }
      if (process.exitValue() != 0) {
        throw new IllegalStateException(
            what
                + " failed with exit code "
                + process.exitValue()
                + ": "
                + String.join(" ", command)
                + "\n"
                + tail(log));
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run " + what + ": " + String.join(" ", command), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while running " + what, e);
    }
  }

  /** Waits until {@code ready} holds, failing early with the log if the process exits first. */
  public void awaitReady(BooleanSupplier ready, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IllegalStateException(
            name + " exited with code " + process.exitValue() + " while starting\n" + tail(log));
      }
      if (ready.getAsBoolean()) {
        return;
      }
      sleep(Duration.ofMillis(50));
    }
    close();
    throw new IllegalStateException(name + " not ready within " + timeout + "\n" + tail(log));
  }

  public long pid() {
    return process.pid();
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  public Path log() {
    return log;
  }

  /** Stops the process: a polite signal first, then a kill after a grace period. */
  @Override
  public void close() {
    if (process.isAlive()) {
      process.destroy();
      try {
        if (!process.waitFor(STOP_GRACE.toMillis(), TimeUnit.MILLISECONDS)) {
          process.destroyForcibly().waitFor(STOP_GRACE.toMillis(), TimeUnit.MILLISECONDS);
        }
      } catch (InterruptedException e) {
        process.destroyForcibly();
        Thread.currentThread().interrupt();
      }
    }
    try {
      Runtime.getRuntime().removeShutdownHook(shutdownHook);
    } catch (IllegalStateException alreadyShuttingDown) {
      // The JVM is exiting; the hook runs anyway and the process is already gone.
    }
  }

  /** Waits up to {@code timeout} for the process to exit on its own; true when it has. */
  public boolean awaitExit(Duration timeout) {
    try {
      return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for " + name, e);
    }
  }

  /** Sends a signal by name (e.g. {@code INT}) and waits up to {@code timeout} for the exit. */
  public boolean signalAndWait(String signal, Duration timeout) {
    try {
      new ProcessBuilder("kill", "-" + signal, Long.toString(process.pid()))
          .inheritIO()
          .start()
          .waitFor();
      return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot signal " + name, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while stopping " + name, e);
    }
  }

  /** The last lines of a log, to put the server's own words into a fixture's error. */
  public static String tail(Path log) {
    try {
      List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
    } catch (IOException e) {
      return "(no log at " + log + ")";
    }
  }

  static void sleep(Duration duration) {
    try {
      Thread.sleep(duration.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }
}
