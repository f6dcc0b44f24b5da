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

  @Override
  public Integer call() throws InterruptedException {
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
      server = ViewServer.start(client, host, port, tls);
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
        "serving the views on %s://%s:%d/v1/ (Valkey %s, PostgreSQL %s); try: curl"
            + " %s://%s:%d/v1/health%n",
        scheme,
        host,
        server.port(),
        stores.endpoint(), // as ValkeyEndpoint prints it: never a password
        stores.jdbcUrl == null ? "none" : stores.jdbcUrl,
        scheme,
        host,
        server.port());
    out.flush();
    stopped.await();
    return 0;
  }

  private static String rootMessage(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null) {
      root = root.getCause();
    }
    return root.getMessage();
  }
}
