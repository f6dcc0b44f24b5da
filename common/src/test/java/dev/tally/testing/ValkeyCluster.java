package dev.tally.testing;

import io.valkey.HostAndPort;
import io.valkey.Jedis;
import io.valkey.JedisCluster;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real three-master Valkey cluster: three {@code valkey-server} processes in cluster mode, joined
 * by {@code valkey-cli --cluster create}, 16384 slots split between them and no replicas. One per
 * test JVM through {@link ValkeyClusterExtension}.
 */
public final class ValkeyCluster implements AutoCloseable {

  public static final int MASTERS = 3;

  private static final AtomicInteger PREFIX_COUNTER = new AtomicInteger();
  private static final Duration FORM_TIMEOUT = Duration.ofSeconds(60);

  private final List<Integer> ports;
  private final List<ServerProcess> processes;

  private ValkeyCluster(List<Integer> ports, List<ServerProcess> processes) {
    this.ports = List.copyOf(ports);
    this.processes = List.copyOf(processes);
  }

  /** Starts the three nodes, creates the cluster and waits until every node reports it ok. */
  public static ValkeyCluster start() {
    ValkeyBinaries binaries = ValkeyBinaries.locate();
    Path dir = TestDirs.newDirectory("valkey-cluster");
    List<Integer> ports = new ArrayList<>();
    List<ServerProcess> processes = new ArrayList<>();
    try {
      for (int i = 0; i < MASTERS; i++) {
        int port = FreePorts.next();
        ports.add(port);
        processes.add(
            ValkeyServer.launch(
                binaries,
                dir,
                port,
                List.of(
                    "--cluster-enabled", "yes",
                    "--cluster-config-file", "nodes-" + port + ".conf",
                    "--cluster-node-timeout", "5000")));
      }
      List<String> create =
          new ArrayList<>(List.of(binaries.cli().toString(), "--cluster", "create"));
      ports.forEach(port -> create.add("127.0.0.1:" + port));
      create.addAll(List.of("--cluster-replicas", "0", "--cluster-yes"));
      ServerProcess.runToCompletion(
          "valkey-cli --cluster create", create, dir.resolve("cluster-create.log"), FORM_TIMEOUT);
      ValkeyCluster cluster = new ValkeyCluster(ports, processes);
      cluster.awaitClusterOk();
      return cluster;
    } catch (RuntimeException e) {
      processes.forEach(ServerProcess::close);
      throw e;
    }
  }

  private void awaitClusterOk() {
    long deadline = System.nanoTime() + FORM_TIMEOUT.toNanos();
    while (System.nanoTime() < deadline) {
      if (ports.stream().allMatch(ValkeyCluster::reportsOk)) {
        return;
      }
      ServerProcess.sleep(Duration.ofMillis(100));
    }
    throw new IllegalStateException(
        "Valkey cluster on ports " + ports + " not ok within " + FORM_TIMEOUT);
  }

  private static boolean reportsOk(int port) {
    try (Jedis jedis = new Jedis("127.0.0.1", port, 1000)) {
      return jedis.clusterInfo().contains("cluster_state:ok");
    } catch (RuntimeException notYet) {
      return false;
    }
  }

  /** The seed nodes, as cluster clients take them. */
  public Set<HostAndPort> nodes() {
    Set<HostAndPort> nodes = new java.util.LinkedHashSet<>();
    ports.forEach(port -> nodes.add(new HostAndPort("127.0.0.1", port)));
    return nodes;
  }

  /** A new cluster-aware client; the caller closes it. */
  public JedisCluster client() {
    return new JedisCluster(nodes());
  }

  /** A plain client to one node, to see where a key really lives; the caller closes it. */
  public Jedis nodeClient(HostAndPort node) {
    return new Jedis(node.getHost(), node.getPort());
  }

  /** The master that owns {@code key}'s slot, read from {@code CLUSTER NODES}. */
  public HostAndPort ownerOf(String key) {
    try (Jedis any = nodeClient(nodes().iterator().next())) {
      long slot = any.clusterKeySlot(key);
      for (String line : any.clusterNodes().split("\n")) {
        String[] fields = line.trim().split(" ");
        if (fields.length < 9 || !fields[2].contains("master")) {
          continue;
        }
        for (int i = 8; i < fields.length; i++) {
          String[] range = fields[i].split("-");
          long low = Long.parseLong(range[0]);
          long high = range.length > 1 ? Long.parseLong(range[1]) : low;
          if (slot >= low && slot <= high) {
            String address = fields[1].substring(0, fields[1].indexOf('@'));
            return HostAndPort.from(address);
          }
        }
      }
      throw new IllegalStateException("no master owns slot " + slot + " of key " + key);
    }
  }

  /** A key prefix no other test of this JVM uses. */
  public String uniquePrefix(String name) {
    return name + "-" + PREFIX_COUNTER.incrementAndGet() + ":";
  }

  @Override
  public void close() {
    processes.forEach(ServerProcess::close);
  }
}
