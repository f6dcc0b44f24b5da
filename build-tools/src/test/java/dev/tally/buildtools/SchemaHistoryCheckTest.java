package dev.tally.buildtools;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class SchemaHistoryCheckTest {

  private static final Path SHIPPED_CURRENT = Path.of("../schemas/src/main/avro/event.avsc");
  private static final Path SHIPPED_HISTORY =
      Path.of("../schemas/src/main/resources/dev/tally/events/history");
  private static final Path TEST_RESOURCES = Path.of("src/test/resources");

  @Test
  void shippedSchemaReadsEveryHistoryVersion() throws Exception {
    SchemaHistoryCheck.Report report =
        SchemaHistoryCheck.check(SHIPPED_CURRENT, SHIPPED_HISTORY, "event");

    assertThat(report.problems()).isEmpty();
    assertThat(report.checkedVersions()).containsExactly("event-v1.avsc", "event-v2.avsc");
  }

  @Test
  void incompatibleChangeIsReportedPerField() throws Exception {
    SchemaHistoryCheck.Report report =
        SchemaHistoryCheck.check(
            TEST_RESOURCES.resolve("incompatible/event.avsc"),
            TEST_RESOURCES.resolve("incompatible/history"),
            "event");

    assertThat(report.passed()).isFalse();
    assertThat(report.problems())
        .anySatisfy(p -> assertThat(p).contains("event-v1.avsc", "TYPE_MISMATCH", "/fields/2/type"))
        .anySatisfy(
            p -> assertThat(p).contains("event-v2.avsc", "READER_FIELD_MISSING_DEFAULT", "region"));
  }

  @Test
  void incompatibleChangeFailsTheBuildEntryPoint() {
    assertThatThrownBy(
            () ->
                SchemaHistoryCheck.main(
                    new String[] {
                      TEST_RESOURCES.resolve("incompatible/event.avsc").toString(),
                      TEST_RESOURCES.resolve("incompatible/history").toString(),
                      "event"
                    }))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("schema check failed")
        .hasMessageContaining("READER_FIELD_MISSING_DEFAULT");
  }

  @Test
  void compatibleChangeMustBeAddedToTheHistory() throws Exception {
    SchemaHistoryCheck.Report report =
        SchemaHistoryCheck.check(
            TEST_RESOURCES.resolve("unregistered/event.avsc"),
            TEST_RESOURCES.resolve("unregistered/history"),
            "event");

    assertThat(report.problems())
        .singleElement()
        .satisfies(
            p ->
                assertThat(p)
                    .contains(
                        "differs from the newest history version event-v2.avsc",
                        "add it as event-v3.avsc"));
  }

  @Test
  void missingUsageArgumentsSayHowToCall() {
    assertThatThrownBy(() -> SchemaHistoryCheck.main(new String[0]))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("usage: SchemaHistoryCheck <current.avsc> <history-dir> <name>");
  }
}
