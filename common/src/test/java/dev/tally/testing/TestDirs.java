package dev.tally.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where tests keep their files: always under the module's {@code target/}, so {@code mvn clean}
 * removes everything a test run leaves behind.
 */
public final class TestDirs {

  /** Set by surefire/failsafe (see the parent pom); the fallback covers IDE runs. */
  public static final String TEST_DIR_PROPERTY = "tally.test.dir";

  private TestDirs() {}

  /** The root of this module's test files. */
  public static Path root() {
    Path root = Path.of(System.getProperty(TEST_DIR_PROPERTY, "target/test-work")).toAbsolutePath();
    try {
      return Files.createDirectories(root);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create test directory " + root, e);
    }
  }

  /** A new, empty directory under {@link #root()} whose name starts with {@code prefix}. */
  public static Path newDirectory(String prefix) {
    try {
      return Files.createTempDirectory(root(), prefix + "-");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create a directory under " + root(), e);
    }
  }
}
