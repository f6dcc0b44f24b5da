package dev.tally.common.tls;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/** PEM certificates as TLS clients and servers of Tally take them (a CA file, a chain). */
public final class Pem {

  private Pem() {}

  /**
   * The X.509 certificates in {@code pem}, in order.
   *
   * @throws IllegalArgumentException when it holds none, or one that does not parse
   */
  public static List<Certificate> certificates(String pem) {
    try {
      List<Certificate> certificates =
          List.copyOf(
              CertificateFactory.getInstance("X.509")
                  .generateCertificates(
                      new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII))));
      if (certificates.isEmpty()) {
        throw new IllegalArgumentException("holds no PEM certificate");
      }
      return certificates;
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException("holds no usable PEM certificate: " + e.getMessage(), e);
    }
  }

  /**
   * A TLS client context that trusts exactly the certificates in {@code pem}.
   *
   * @throws IllegalArgumentException when {@code pem} holds no usable certificate
   */
  public static SSLContext trusting(String pem) {
    try {
      KeyStore store = KeyStore.getInstance("PKCS12");
      store.load(null, null);
      int i = 0;
      for (Certificate certificate : certificates(pem)) {
        store.setCertificateEntry("ca-" + i++, certificate);
      }
      TrustManagerFactory trust =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      trust.init(store);
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(null, trust.getTrustManagers(), null);
      return context;
    } catch (GeneralSecurityException | IOException e) {
      throw new IllegalArgumentException("holds no usable PEM certificate: " + e.getMessage(), e);
    }
  }
}
