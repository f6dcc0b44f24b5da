package dev.tally.common;

/**
 * The environment variables Tally's tools read, named once (docs: README, "Environment"). Secrets
 * come from here rather than from arguments, which show in process lists and job configs.
 */
public final class Environment {

  /** The Kafka cluster, host:port[,host:port…], when no {@code --bootstrap-servers} is given. */
  public static final String BOOTSTRAP_SERVERS = "TALLY_BOOTSTRAP_SERVERS";

  /** The password of the Valkey user in a {@code --valkey} URL. */
  public static final String VALKEY_PASSWORD = "TALLY_VALKEY_PASSWORD";

  /** The PostgreSQL password of {@code --jdbc-user}. */
  public static final String PG_PASSWORD = "TALLY_PG_PASSWORD";

  private Environment() {}
}
