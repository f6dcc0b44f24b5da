package dev.tally.common.views;

import io.valkey.DefaultJedisClientConfig;
import io.valkey.HostAndPort;
import io.valkey.JedisCluster;
import io.valkey.JedisPooled;
import io.valkey.UnifiedJedis;
import java.io.Serializable;
import java.net.URI;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Where Valkey is: one node, or the seed nodes of a cluster, and the password if any.
 *
 * @param nodes {@code host:port} of the node, or of cluster seed nodes
 * @param cluster true for a Valkey cluster (keys are routed by slot)
 * @param password null when the server has no password
 */
public record ValkeyEndpoint(List<String> nodes, boolean cluster, String password)
    implements Serializable {

  public ValkeyEndpoint {
    if (nodes == null || nodes.isEmpty()) {
      throw new IllegalArgumentException("no Valkey node given");
    }
    nodes = List.copyOf(nodes);
    nodes.forEach(ValkeyEndpoint::hostAndPort);
  }

  /**
   * Parses {@code redis://host:port[,host:port…]}, {@code valkey://…} or plain {@code
   * host:port[,…]}; several nodes, or {@code clusterMode}, mean a cluster.
   */
  public static ValkeyEndpoint parse(String text, boolean clusterMode, String password) {
    String list = text.trim().replaceFirst("^(redis|valkey)://", "");
    List<String> nodes = new ArrayList<>();
    for (String node : list.split(",")) {
      if (!node.isBlank()) {
        nodes.add(node.trim());
      }
    }
    return new ValkeyEndpoint(nodes, clusterMode || nodes.size() > 1, password);
  }

  /** A client for this endpoint; the caller closes it. */
  public UnifiedJedis connect() {
    DefaultJedisClientConfig.Builder config =
        DefaultJedisClientConfig.builder()
            .connectionTimeoutMillis(2000)
            .socketTimeoutMillis(10_000);
    if (password != null && !password.isEmpty()) {
      config.password(password);
    }
    if (cluster) {
      Set<HostAndPort> seeds = new LinkedHashSet<>();
      nodes.forEach(node -> seeds.add(hostAndPort(node)));
      return new JedisCluster(seeds, config.build());
    }
    return new JedisPooled(hostAndPort(nodes.get(0)), config.build());
  }

  private static HostAndPort hostAndPort(String node) {
    URI uri = URI.create("valkey://" + node);
    if (uri.getHost() == null || uri.getPort() < 0) {
      throw new IllegalArgumentException("Valkey node '" + node + "' is not host:port");
    }
    return new HostAndPort(uri.getHost(), uri.getPort());
  }

  @Override
  public String toString() {
    return (cluster ? "cluster " : "")
        + String.join(",", nodes)
        + (password == null ? "" : " (with password)");
  }
}
