package dev.tally.replay;

import dev.tally.common.Environment;
import dev.tally.common.flink.ProjectionContract;
import dev.tally.common.replay.Generations;
import dev.tally.common.replay.PositionResolver;
import dev.tally.common.replay.ReplayLease;
import dev.tally.common.views.ValkeyEndpoint;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.TopicPartition;

/**
 * The stores and the Kafka cluster a replay talks to: the live job's own (from its published
 * arguments), or those given in {@link ReplaySettings}, which must then name the same servers.
 */
public final class ReplayStores {

  private final ReplaySettings settings;

  ReplayStores(ReplaySettings settings) {
    this.settings = settings;
  }

  /** A held {@link ReplayLease} and the Valkey connection it lives on. */
  public interface Lease extends AutoCloseable {
    @Override
    void close();
  }

  /**
   * One replay at a time: the lease in the live job's Valkey for {@code operation}, held until the
   * returned lease is closed; refused (naming the holder) while another operation holds it.
   */
  public Lease lease(TallyJob live, String operation) {
    Generations generations = generations(live);
    try {
      ReplayLease lease = ReplayLease.acquire(generations.valkeyClient(), operation);
      return () -> {
        try {
          lease.close();
        } finally {
          generations.close();
        }
      };
    } catch (RuntimeException e) {
      generations.close();
      throw e;
    }
  }

  /** The job's generations in its Valkey and PostgreSQL (null job: the settings' stores). */
  public Generations generations(TallyJob job) {
    requireJobsStores(job);
    String jdbcUrl =
        settings.jdbcUrl() != null
            ? settings.jdbcUrl()
            : job == null ? null : job.options().jdbcUrl();
    String jdbcUser =
        settings.jdbcUser() != null
            ? settings.jdbcUser()
            : job == null ? ProjectionContract.JDBC_USER_DEFAULT : job.options().jdbcUser();
    return new Generations(valkey(job), jdbcUrl, jdbcUser, System.getenv(Environment.PG_PASSWORD));
  }

  /**
   * The changes to the entries of {@code generation} and {@code other} from now on, in the job's
   * Valkey, as {@code generation}'s keys.
   */
  ChangedEntries changes(TallyJob job, int generation, int other) {
    return ChangedEntries.listen(valkey(job), generation, other);
  }

  /** The job's Valkey (null job: the settings'). */
  private ValkeyEndpoint valkey(TallyJob job) {
    String valkey =
        settings.valkey() != null
            ? settings.valkey()
            : job == null ? null : job.options().valkeyUrl();
    if (valkey == null) {
      throw new IllegalArgumentException("no Valkey known: pass --valkey redis://host:port");
    }
    boolean cluster = job != null && job.options().valkeyCluster();
    return ValkeyEndpoint.parse(valkey, cluster, System.getenv(Environment.VALKEY_PASSWORD))
        .withCaFile(System.getenv(ValkeyEndpoint.CA_FILE_ENV));
  }

  /**
   * A {@code --valkey} or {@code --jdbc-url} given here (or by {@code $TALLY_VALKEY}, {@code
   * $TALLY_JDBC_URL}) must name the stores the live job writes: a replay compares and switches the
   * views of the stores it talks to, and another server's would be switched silently. Users and
   * passwords may differ (an operator's login beside the job's); servers and database may not.
   */
  public void requireJobsStores(TallyJob job) {
    if (job == null) {
      return;
    }
    String jobValkey = job.options().valkeyUrl();
    if (settings.valkey() != null) {
      Set<String> given = Set.copyOf(ValkeyEndpoint.parse(settings.valkey(), false, null).nodes());
      Set<String> writes = Set.copyOf(ValkeyEndpoint.parse(jobValkey, false, null).nodes());
      if (given.stream().noneMatch(writes::contains)) {
        throw new IllegalArgumentException(
            "--valkey (or $TALLY_VALKEY) names "
                + String.join(",", given)
                + ", but the live job "
                + job.id()
                + " writes Valkey at "
                + String.join(",", writes)
                + "; pass the live job's Valkey, or leave --valkey out to use it");
      }
    }
    String jobJdbc = job.options().jdbcUrl();
    if (settings.jdbcUrl() != null
        && jobJdbc != null
        && !database(settings.jdbcUrl()).equals(database(jobJdbc))) {
      throw new IllegalArgumentException(
          "--jdbc-url (or $TALLY_JDBC_URL) names "
              + database(settings.jdbcUrl())
              + ", but the live job "
              + job.id()
              + " writes "
              + database(jobJdbc)
              + "; pass the live job's database, or leave --jdbc-url out to use it");
    }
  }

  /** A JDBC URL without its parameters: the server and database it names. */
  private static String database(String jdbcUrl) {
    int query = jdbcUrl.indexOf('?');
    return (query < 0 ? jdbcUrl : jdbcUrl.substring(0, query)).replace("localhost", "127.0.0.1");
  }

  /** The Kafka cluster: the settings' or the job's {@code --bootstrap-servers}. */
  public String bootstrap(TallyJob job) {
    return settings.bootstrapServers() != null
        ? settings.bootstrapServers()
        : job.options().bootstrapServers();
  }

  /** The end offsets of the job's topics now. */
  public Map<TopicPartition, Long> endOffsets(TallyJob job) {
    try (Admin admin = admin(bootstrap(job), job)) {
      Map<TopicPartition, Long> ends = new HashMap<>();
      new PositionResolver(admin)
          .retained(job.topics())
          .forEach((tp, retained) -> ends.put(tp, retained.end()));
      return ends;
    }
  }

  /**
   * An AdminClient for the job's cluster, with the job's security settings (its {@code
   * --kafka-property security.*|sasl.*|ssl.*}) when a job is known.
   */
  public static Admin admin(String bootstrap, TallyJob job) {
    if (bootstrap == null || bootstrap.isBlank()) {
      throw new IllegalArgumentException(
          "no Kafka cluster known: pass --bootstrap-servers host:port or set "
              + Environment.BOOTSTRAP_SERVERS);
    }
    Map<String, String> properties = new HashMap<>();
    if (job != null) {
      // The job's properties file, when it is readable here too (its secrets are not published).
      String file = job.options().kafkaPropertiesFile();
      if (file != null && Files.isReadable(Path.of(file))) {
        Properties loaded = new Properties();
        try (var in = Files.newBufferedReader(Path.of(file))) {
          loaded.load(in);
        } catch (IOException e) {
          throw new IllegalStateException("cannot read " + file + ": " + e.getMessage(), e);
        }
        loaded.stringPropertyNames().forEach(k -> properties.put(k, loaded.getProperty(k)));
      }
      // Then what the job resolved (the file's and the inline ones, secrets left out) over it.
      properties.putAll(job.options().kafkaProperties());
    }
    return PositionResolver.admin(bootstrap, properties);
  }
}
