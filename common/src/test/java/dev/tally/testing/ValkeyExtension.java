package dev.tally.testing;

/**
 * Gives a test the JVM's shared standalone {@link ValkeyServer}:
 * {@code @ExtendWith(ValkeyExtension.class)} and a {@code ValkeyServer} parameter.
 */
public final class ValkeyExtension extends SharedFixture<ValkeyServer> {
  public ValkeyExtension() {
    super(ValkeyServer.class, ValkeyServer::start);
  }
}
