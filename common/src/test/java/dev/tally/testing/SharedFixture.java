package dev.tally.testing;

import java.util.function.Supplier;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * A JUnit 5 extension that hands tests one server per test JVM: started on first use, kept in the
 * root context's store, and closed by JUnit when the whole run ends.
 *
 * @param <T> the fixture type tests declare as a parameter
 */
abstract class SharedFixture<T extends AutoCloseable> implements ParameterResolver {

  private static final ExtensionContext.Namespace NAMESPACE =
      ExtensionContext.Namespace.create(SharedFixture.class);

  private final Class<T> type;
  private final Supplier<T> starter;

  SharedFixture(Class<T> type, Supplier<T> starter) {
    this.type = type;
    this.starter = starter;
  }

  @Override
  public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
    return parameter.getParameter().getType().equals(type);
  }

  @Override
  public T resolveParameter(ParameterContext parameter, ExtensionContext context) {
    return context
        .getRoot()
        .getStore(NAMESPACE)
        .getOrComputeIfAbsent(type, ignored -> starter.get(), type);
  }
}
