package dev.tally.cli;

import dev.tally.common.views.ViewClient;
import dev.tally.serve.ViewServer;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code tally serve}: the views over HTTP/JSON until stopped. */
@Command(
    name = "serve",
    mixinStandardHelpOptions = true,
    description =
        "Serve the views over HTTP/JSON (docs/serving.md; the API is described at"
            + " /v1/openapi.json) until stopped (Ctrl-C, SIGTERM).")
final class ServeCommand implements Callable<Integer> {

  @Spec CommandSpec spec;
  @picocli.CommandLine.Mixin ViewCommand.Stores stores;

  @Option(
      names = "--host",
      defaultValue = "127.0.0.1",
      description = "Address to listen on (default: ${DEFAULT-VALUE}; 0.0.0.0 for every one).")
  String host;

  @Option(
      names = "--port",
      defaultValue = "8090",
      description = "Port to listen on (default: ${DEFAULT-VALUE}).")
  int port;

  @Option(
      names = "--tls-cert-file",
      description =
          "Serve HTTPS only, presenting this PEM certificate chain (with --tls-key-file); default:"
              + " plain HTTP (behind a TLS-terminating gateway).")
  java.nio.file.Path tlsCertFile;

  @Option(
      names = "--tls-key-file",
      description = "The certificate's private key, PEM, unencrypted PKCS #8 (BEGIN PRIVATE KEY).")
  java.nio.file.Path tlsKeyFile;

  @Option(
      names = "--near-cache-size",
      defaultValue = "100000",
      description =
          "Entries the server keeps in memory, kept right by the writers' announcements on"
              + " tally:invalidate (docs/serving.md); 0: none, every read goes to the stores"
              + " (default: ${DEFAULT-VALUE}; none on a Valkey cluster).")
  long nearCacheSize;

  @Option(
      names = "--near-cache-ttl",
      defaultValue = "60s",
      description =
          "Nothing stays in the near cache longer: the bound on a change made behind the"
              + " writers' back, e.g. a key deleted by hand (default: ${DEFAULT-VALUE}).")
  String nearCacheTtl;

  @Override
  public Integer call() throws InterruptedException {
    if (nearCacheSize < 0) {
      throw new picocli.CommandLine.ParameterException(
          spec.commandLine(), "--near-cache-size must be >= 0, got " + nearCacheSize);
    }
    java.time.Duration ttl;
    try {
      ttl = Durations.parse("--near-cache-ttl", nearCacheTtl);
    } catch (IllegalArgumentException e) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(), e.getMessage());
    }
    if (ttl.isZero()) {
      throw new picocli.CommandLine.ParameterException(
          spec.commandLine(), "--near-cache-ttl must be above 0, got " + nearCacheTtl);
    }
    if (port < 0 || port > 65535) {
      throw new picocli.CommandLine.ParameterException(
          spec.commandLine(), "--port must be from 0 to 65535, got " + port);
    }
    if ((tlsCertFile == null) != (tlsKeyFile == null)) {
      throw new picocli.CommandLine.ParameterException(
          spec.commandLine(),
          "--tls-cert-file and --tls-key-file go together: give both or neither");
    }
    javax.net.ssl.SSLContext tls =
        tlsCertFile == null ? null : dev.tally.serve.ServerTls.fromPem(tlsCertFile, tlsKeyFile);
    String scheme = tls == null ? "http" : "https";
    PrintWriter out = spec.commandLine().getOut();
    ViewClient client = stores.client();
    ViewServer server;
    try {
      server = ViewServer.start(client, host, port, tls, nearCache(out, ttl));
    } catch (RuntimeException e) {
      client.close();
      throw new IllegalStateException(
          "cannot listen on " + host + ":" + port + ": " + rootMessage(e));
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  server.close();
                  client.close();
                  stopped.countDown();
                },
                "tally-serve-stop"));
    out.printf(
        "serving the views on %s://%s:%d/v1/ (Valkey %s, PostgreSQL %s, near cache %s); try:"
            + " curl %s://%s:%d/v1/health%n",
        scheme,
        host,
        server.port(),
        stores.endpoint(), // as ValkeyEndpoint prints it: never a password
        stores.jdbcUrl == null ? "none" : stores.jdbcUrl,
        nearCacheSize == 0 ? "off" : String.format("%,d entries, %s", nearCacheSize, nearCacheTtl),
        scheme,
        host,
        server.port());
    out.flush();
    stopped.await();
    return 0;
  }

  private ViewServer.NearCacheSettings nearCache(PrintWriter out, java.time.Duration ttl) {
    dev.tally.common.views.ValkeyEndpoint endpoint = stores.endpoint();
    if (nearCacheSize > 0 && endpoint.cluster()) {
      out.println(
          "near cache off: on a Valkey cluster one subscription does not hear every node's"
              + " announcements");
      return null;
    }
    return new ViewServer.NearCacheSettings(endpoint, nearCacheSize, ttl);
  }

  private static String rootMessage(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null) {
      root = root.getCause();
    }
    return root.getMessage();
  }
}
