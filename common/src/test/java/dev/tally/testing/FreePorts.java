package dev.tally.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;

/** Free TCP ports on the loopback interface, for servers the tests start. */
public final class FreePorts {

  private FreePorts() {}

  /**
   * A port that was free a moment ago. Another process may still take it before the server binds
   * it; the fixtures fail with the server's own log when that happens.
   */
  public static int next() {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      socket.setReuseAddress(true);
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException("no free port on the loopback interface", e);
    }
  }
}
