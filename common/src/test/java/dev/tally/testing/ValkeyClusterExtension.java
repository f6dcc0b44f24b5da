package dev.tally.testing;

/**
 * Gives a test the JVM's shared three-master {@link ValkeyCluster}:
 * {@code @ExtendWith(ValkeyClusterExtension.class)} and a {@code ValkeyCluster} parameter.
 */
public final class ValkeyClusterExtension extends SharedFixture<ValkeyCluster> {
  public ValkeyClusterExtension() {
    super(ValkeyCluster.class, ValkeyCluster::start);
  }
}
