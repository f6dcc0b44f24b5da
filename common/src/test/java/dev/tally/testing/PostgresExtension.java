package dev.tally.testing;

/**
 * Gives a test the JVM's shared {@link PostgresServer}:
 * {@code @ExtendWith(PostgresExtension.class)} and a {@code PostgresServer} parameter.
 */
public final class PostgresExtension extends SharedFixture<PostgresServer> {
  public PostgresExtension() {
    super(PostgresServer.class, PostgresServer::start);
  }
}
