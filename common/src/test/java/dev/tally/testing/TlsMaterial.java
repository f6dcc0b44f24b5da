package dev.tally.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;

/**
 * A throw-away certificate authority and one server certificate signed by it for {@code 127.0.0.1}
 * and {@code localhost}, made with {@code openssl} for the TLS variants of the test servers.
 * Clients trust {@link #caCertificate()}; the servers present {@link #serverCertificate()} with
 * {@link #serverKey()} (PKCS #8, unencrypted, mode 600) or, for Kafka, {@link #serverPem()} (key
 * and certificate chain in one PEM file).
 */
public final class TlsMaterial {

  private static final Duration OPENSSL_TIMEOUT = Duration.ofSeconds(60);

  private final Path dir;

  private TlsMaterial(Path dir) {
    this.dir = dir;
  }

  /** Generates a CA and a server certificate under a new directory of {@code target/}. */
  public static TlsMaterial generate() {
    Path dir = TestDirs.newDirectory("tls");
    Path log = dir.resolve("openssl.log");
    openssl(
        log,
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=tally-test-ca",
        "-keyout",
        dir.resolve("ca.key").toString(),
        "-out",
        dir.resolve("ca.crt").toString());
    openssl(
        log,
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        dir.resolve("server.key").toString(),
        "-out",
        dir.resolve("server.csr").toString());
    try {
      Files.writeString(dir.resolve("server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    openssl(
        log,
        "x509",
        "-req",
        "-days",
        "2",
        "-in",
        dir.resolve("server.csr").toString(),
        "-CA",
        dir.resolve("ca.crt").toString(),
        "-CAkey",
        dir.resolve("ca.key").toString(),
        "-CAcreateserial",
        "-extfile",
        dir.resolve("server.ext").toString(),
        "-out",
        dir.resolve("server.crt").toString());
    try {
      Files.writeString(
          dir.resolve("server.pem"),
          Files.readString(dir.resolve("server.key"))
              + Files.readString(dir.resolve("server.crt"))
              + Files.readString(dir.resolve("ca.crt")));
      for (String secret : List.of("ca.key", "server.key", "server.pem")) {
        Files.setPosixFilePermissions(
            dir.resolve(secret), PosixFilePermissions.fromString("rw-------"));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return new TlsMaterial(dir);
  }

  /** The CA's certificate (PEM): what clients trust. */
  public Path caCertificate() {
    return dir.resolve("ca.crt");
  }

  /** The server's certificate (PEM), for 127.0.0.1 and localhost. */
  public Path serverCertificate() {
    return dir.resolve("server.crt");
  }

  /** The server's private key (PEM, PKCS #8, unencrypted). */
  public Path serverKey() {
    return dir.resolve("server.key");
  }

  /** Key, certificate and CA certificate in one PEM file (Kafka's PEM key store). */
  public Path serverPem() {
    return dir.resolve("server.pem");
  }

  /** The CA's certificate as text. */
  public String caPem() {
    try {
      return Files.readString(caCertificate());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void openssl(Path log, String... args) {
    List<String> command = new java.util.ArrayList<>();
    command.add("openssl");
    command.addAll(List.of(args));
    ServerProcess.runToCompletion("openssl " + args[0], command, log, OPENSSL_TIMEOUT);
  }
}
