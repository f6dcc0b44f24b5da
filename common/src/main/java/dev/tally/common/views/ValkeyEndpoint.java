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
 * @param tls connect with TLS ({@code rediss://}, {@code valkeys://}); the server's certificate
 *     must name the host connected to (its subject alternative names)
 * @param trustedCertificates PEM certificates of the CAs a TLS server's certificate must chain to;
 *     null: the JVM's default trust store
 */
public record ValkeyEndpoint(
    List<String> nodes,
    boolean cluster,
    String user,
    String password,
    boolean tls,
    String trustedCertificates)
    implements Serializable {

  /** Where the CLI and {@code tally serve} take a CA file from when no option names one. */
  public static final String CA_FILE_ENV = "TALLY_VALKEY_CA_FILE";

  public ValkeyEndpoint {
    if (nodes == null || nodes.isEmpty()) {
      throw new IllegalArgumentException("no Valkey node given");
    }
    nodes = List.copyOf(nodes);
    nodes.forEach(ValkeyEndpoint::hostAndPort);
    if (trustedCertificates != null) {
      socketFactory(trustedCertificates); // refuses what holds no certificate, here and now
    }
  }

  /** The JVM's trust store for TLS. */
  public ValkeyEndpoint(
      List<String> nodes, boolean cluster, String user, String password, boolean tls) {
    this(nodes, cluster, user, password, tls, null);
  }

  /** The default user, without TLS. */
  public ValkeyEndpoint(List<String> nodes, boolean cluster, String password) {
    this(nodes, cluster, null, password, false);
  }

  /**
   * This endpoint trusting the CA certificates in {@code caFile} (PEM) for TLS; this endpoint
   * itself when {@code caFile} is null or blank.
   *
   * @throws IllegalArgumentException when the file cannot be read or holds no certificate, or the
   *     endpoint does not use TLS
   */
  public ValkeyEndpoint withCaFile(String caFile) {
    if (caFile == null || caFile.isBlank()) {
      return this;
    }
    if (!tls) {
      throw new IllegalArgumentException(
          "a Valkey CA file ("
              + caFile
              + ") is only for TLS: use a rediss:// or valkeys:// URL, or drop the CA file");
    }
    String pem;
    try {
      pem = java.nio.file.Files.readString(java.nio.file.Path.of(caFile));
    } catch (java.io.IOException | RuntimeException e) {
      throw new IllegalArgumentException(
          "the Valkey CA file " + caFile + " cannot be read: " + e.getMessage(), e);
    }
    try {
      return new ValkeyEndpoint(nodes, cluster, user, password, tls, pem);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("the Valkey CA file " + caFile + ": " + e.getMessage(), e);
    }
  }

  /**
   * A TLS socket factory that trusts exactly the certificates in {@code pem}.
   *
   * @throws IllegalArgumentException when {@code pem} holds no X.509 certificate
   */
  public static javax.net.ssl.SSLSocketFactory socketFactory(String pem) {
    return dev.tally.common.tls.Pem.trusting(pem).getSocketFactory();
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

  /**
   * This endpoint as a {@code --valkey} URL without its password ({@code
   * redis[s]://[user@]host:port[,…]}): what a job publishes; {@link #parse} reads it back.
   */
  public String url() {
    String userInfo =
        user == null
            ? ""
            // URLEncoder writes a space as '+', which decode() reads as a plus: %20 instead.
            : java.net.URLEncoder.encode(user, java.nio.charset.StandardCharsets.UTF_8)
                    .replace("+", "%20")
                + "@";
    return (tls ? "rediss://" : "redis://") + userInfo + String.join(",", nodes);
  }

  private static String decode(String text) {
    return java.net.URLDecoder.decode(
        text.replace("+", "%2B"), java.nio.charset.StandardCharsets.UTF_8);
  }

  /** A client for this endpoint; the caller closes it. */
  public UnifiedJedis connect() {
    if (cluster) {
      Set<HostAndPort> seeds = new LinkedHashSet<>();
      nodes.forEach(node -> seeds.add(hostAndPort(node)));
      return new JedisCluster(seeds, clientConfig());
    }
    return new JedisPooled(hostAndPort(nodes.get(0)), clientConfig());
  }

  /**
   * One connection to a single node (not a cluster), e.g. for a subscription that another thread
   * must be able to cut ({@link io.valkey.Jedis#disconnect()}); the caller closes it.
   */
  public io.valkey.Jedis connectOne() {
    if (cluster) {
      throw new IllegalStateException("one connection to a cluster: connect() instead");
    }
    return new io.valkey.Jedis(hostAndPort(nodes.get(0)), clientConfig());
  }

  private io.valkey.JedisClientConfig clientConfig() {
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
    if (tls) {
      // The server's certificate must name the host connected to, as HTTPS checks it; the client
      // checks only the chain unless told so.
      javax.net.ssl.SSLParameters parameters = new javax.net.ssl.SSLParameters();
      parameters.setEndpointIdentificationAlgorithm("HTTPS");
      config.sslParameters(parameters);
      if (trustedCertificates != null) {
        config.sslSocketFactory(socketFactory(trustedCertificates));
      }
    }
    return config.build();
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
        + (password == null ? "" : " (with password)")
        + (trustedCertificates == null ? "" : " (trusting the given CA)");
  }
}
