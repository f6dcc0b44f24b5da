package dev.tally.testing;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/** Finds {@code valkey-server} and {@code valkey-cli}, or says exactly how to install them. */
public final class ValkeyBinaries {

  /** The command that installs Valkey 8 on Debian 12, as {@code make deps} runs it. */
  public static final String INSTALL_COMMAND =
      "echo 'deb http://deb.debian.org/debian bookworm-backports main'"
          + " | sudo tee /etc/apt/sources.list.d/backports.list"
          + " && sudo apt-get update"
          + " && sudo apt-get install -y -t bookworm-backports valkey-server valkey-tools";

  private final Path server;
  private final Path cli;

  private ValkeyBinaries(Path server, Path cli) {
    this.server = server;
    this.cli = cli;
  }

  /** Looks on this process's {@code PATH}. */
  public static ValkeyBinaries locate() {
    return locate(System.getenv().getOrDefault("PATH", ""));
  }

  /**
   * Looks on {@code searchPath} (a {@code PATH}-style list).
   *
   * @throws IllegalStateException naming what is missing and the command that installs it
   */
  public static ValkeyBinaries locate(String searchPath) {
    Optional<Path> server = find("valkey-server", searchPath);
    Optional<Path> cli = find("valkey-cli", searchPath);
    if (server.isEmpty() || cli.isEmpty()) {
      String missing =
          server.isEmpty() && cli.isEmpty()
              ? "valkey-server and valkey-cli"
              : server.isEmpty() ? "valkey-server" : "valkey-cli";
      throw new IllegalStateException(
          missing
              + " not found on PATH ("
              + searchPath
              + "). Tally's tests run a real Valkey. Install it with `make deps`, or by hand:\n  "
              + INSTALL_COMMAND);
    }
    return new ValkeyBinaries(server.get(), cli.get());
  }

  public Path server() {
    return server;
  }

  public Path cli() {
    return cli;
  }

  private static Optional<Path> find(String name, String searchPath) {
    for (String dir : searchPath.split(File.pathSeparator)) {
      if (dir.isBlank()) {
        continue;
      }
      Path candidate = Path.of(dir, name);
      if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
        return Optional.of(candidate);
      }
    }
    return Optional.empty();
  }
}
