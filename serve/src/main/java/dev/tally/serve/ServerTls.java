package dev.tally.serve;

import dev.tally.common.tls.Pem;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

/**
 * The server side of HTTPS for {@code tally serve}: a certificate chain and its private key, both
 * PEM files as {@code openssl} and certificate managers write them (the key unencrypted PKCS #8,
 * "BEGIN PRIVATE KEY"; RSA, EC or Ed25519).
 */
public final class ServerTls {

  private static final Pattern PRIVATE_KEY =
      Pattern.compile("-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\\s]+)-----END PRIVATE KEY-----");

  private ServerTls() {}

  /**
   * An SSL context presenting {@code certificateFile}'s chain with {@code keyFile}'s key.
   *
   * @throws IllegalArgumentException naming the file and what is wrong with it
   */
  public static SSLContext fromPem(Path certificateFile, Path keyFile) {
    List<Certificate> chain = certificates(certificateFile);
    PrivateKey key = privateKey(keyFile);
    try {
      KeyStore store = KeyStore.getInstance("PKCS12");
      store.load(null, null);
      char[] password = new char[0];
      store.setKeyEntry("tally-serve", key, password, chain.toArray(Certificate[]::new));
      KeyManagerFactory keys =
          KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      keys.init(store, password);
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(keys.getKeyManagers(), null, null);
      return context;
    } catch (GeneralSecurityException | IOException e) {
      throw new IllegalArgumentException(
          "the key in "
              + keyFile
              + " does not go with the certificate in "
              + certificateFile
              + ": "
              + e.getMessage(),
          e);
    }
  }

  private static List<Certificate> certificates(Path file) {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.US_ASCII);
    } catch (IOException e) {
      throw new IllegalArgumentException(
          "--tls-cert-file " + file + " cannot be read: " + e.getMessage(), e);
    }
    try {
      return Pem.certificates(text);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("--tls-cert-file " + file + " " + e.getMessage(), e);
    }
  }

  private static PrivateKey privateKey(Path file) {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.US_ASCII);
    } catch (IOException e) {
      throw new IllegalArgumentException(
          "--tls-key-file " + file + " cannot be read: " + e.getMessage(), e);
    }
    Matcher matcher = PRIVATE_KEY.matcher(text);
    if (!matcher.find()) {
      throw new IllegalArgumentException(
          "--tls-key-file "
              + file
              + " holds no unencrypted PKCS #8 key (-----BEGIN PRIVATE KEY-----); convert one with:"
              + " openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY.pk8");
    }
    PKCS8EncodedKeySpec spec =
        new PKCS8EncodedKeySpec(Base64.getMimeDecoder().decode(matcher.group(1)));
    for (String algorithm : List.of("RSA", "EC", "Ed25519")) {
      try {
        return KeyFactory.getInstance(algorithm).generatePrivate(spec);
      } catch (GeneralSecurityException notThisOne) {
        // try the next algorithm
      }
    }
    throw new IllegalArgumentException(
        "--tls-key-file " + file + " holds a key that is not RSA, EC or Ed25519");
  }
}
