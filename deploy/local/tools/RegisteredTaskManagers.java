import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Prints how many TaskManagers a JobManager has registered: the {@code taskmanagers} field of its
 * REST API's {@code GET /overview}, parsed as JSON (Flink's shaded Jackson, on the classpath
 * stack.sh runs it with). Exits 1, printing nothing, while the REST API does not answer.
 *
 * <p>Usage: {@code java -cp <flink classpath> RegisteredTaskManagers.java http://127.0.0.1:8081}
 */
public final class RegisteredTaskManagers {

  public static void main(String[] args) throws Exception {
    if (args.length != 1) {
      System.err.println("usage: RegisteredTaskManagers <Flink REST URL>");
      System.exit(2);
    }
    HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    HttpRequest request =
        HttpRequest.newBuilder(URI.create(args[0] + "/overview"))
            .timeout(Duration.ofSeconds(5))
            .build();
    try {
      HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() != 200) {
        System.exit(1);
      }
      JsonNode overview = new ObjectMapper().readTree(response.body());
      System.out.println(overview.path("taskmanagers").asInt(0));
    } catch (java.io.IOException notUp) {
      System.exit(1);
    }
  }
}
