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
 * Where Valkey is: one node, or the seed nodes of a cluster, and how to log in.
 *
 * @param nodes {@code host:port} of the node, or of cluster seed nodes
 * @param cluster true for a Valkey cluster (keys are routed by slot)
 * @param user the ACL user, null for the default user
 * @param password null when the server has no password
 * @param tls connect with TLS ({@code rediss://}, {@code valkeys://})
 */
public record ValkeyEndpoint(
    List<String> nodes, boolean cluster, String user, String password, boolean tls)
    implements Serializable {

  public ValkeyEndpoint {
    if (nodes == null || nodes.isEmpty()) {
      throw new IllegalArgumentException("no Valkey node given");
    }
    nodes = List.copyOf(nodes);
    nodes.forEach(ValkeyEndpoint::hostAndPort);
  }

  /** The default user, without TLS. */
  public ValkeyEndpoint(List<String> nodes, boolean cluster, String password) {
    this(nodes, cluster, null, password, false);
  }

  /**
   * Parses {@code redis://[user[:password]@]host:port[,host:port…]} ({@code valkey://} alike;
   * {@code rediss://} or {@code valkeys://} for TLS) or plain {@code host:port[,…]}; several nodes,
   * or {@code clusterMode}, mean a cluster. A password in the URL (percent-encoded where needed)
   * wins over {@code password} (from a file or the environment).
   */
  public static ValkeyEndpoint parse(String text, boolean clusterMode, String password) {
    String trimmed = text.trim();
    boolean tls = trimmed.matches("^(rediss|valkeys)://.*");
    String list = trimmed.replaceFirst("^(redis|valkey|rediss|valkeys)://", "");
    String user = null;
    int at = list.lastIndexOf('@');
    if (at >= 0) {
      String userInfo = list.substring(0, at);
      list = list.substring(at + 1);
      int colon = userInfo.indexOf(':');
      String name = colon < 0 ? userInfo : userInfo.substring(0, colon);
      user = name.isEmpty() ? null : decode(name);
      if (colon >= 0) {
        password = decode(userInfo.substring(colon + 1));
      }
    }
    List<String> nodes = new ArrayList<>();
    for (String node : list.split(",")) {
      if (!node.isBlank()) {
        nodes.add(node.trim());
      }
    }
    return new ValkeyEndpoint(nodes, clusterMode || nodes.size() > 1, user, password, tls);
  }

  /**
   * A {@code --valkey} URL with its password replaced by {@code replacement} (for what a job
   * publishes); the URL itself when it holds none.
   */
  public static String withoutPassword(String text, String replacement) {
    int schemeEnd = text.indexOf("://");
    String scheme = schemeEnd >= 0 ? text.substring(0, schemeEnd + 3) : "";
    String rest = text.substring(scheme.length());
    int at = rest.lastIndexOf('@');
    int colon = at < 0 ? -1 : rest.substring(0, at).indexOf(':');
    if (colon < 0) {
      return text;
    }
    return scheme + rest.substring(0, colon + 1) + replacement + rest.substring(at);
  }

  private static String decode(String text) {
    return java.net.URLDecoder.decode(
        text.replace("+", "%2B"), java.nio.charset.StandardCharsets.UTF_8);
  }

  /** A client for this endpoint; the caller closes it. */
  public UnifiedJedis connect() {
    DefaultJedisClientConfig.Builder config =
        DefaultJedisClientConfig.builder()
            .connectionTimeoutMillis(2000)
            .socketTimeoutMillis(10_000);
    if (user != null) {
      config.user(user);
    }
    if (password != null && !password.isEmpty()) {
      config.password(password);
    }
    config.ssl(tls);
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
        + (tls ? "tls " : "")
        + (user == null ? "" : user + "@")
        + String.join(",", nodes)
        + (password == null ? "" : " (with password)");
  }
}
