package dev.tally.jobs.dedup;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.UUID;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

class EventIdSerializerTest {

  private static byte[] bytes(String id) throws Exception {
    DataOutputSerializer out = new DataOutputSerializer(64);
    EventIdSerializer.INSTANCE.serialize(id, out);
    return out.getCopyOfBuffer();
  }

  private static String roundTrip(String id) throws Exception {
    return EventIdSerializer.INSTANCE.deserialize(new DataInputDeserializer(bytes(id)));
  }

  @Test
  void aCanonicalUuidTakesSeventeenBytesAndReadsBackExactly() throws Exception {
    for (int i = 0; i < 1000; i++) {
      String id = UUID.randomUUID().toString();
      assertThat(bytes(id)).hasSize(17);
      assertThat(roundTrip(id)).isEqualTo(id);
    }
    String v7 = "01890a5d-ac96-774b-bcce-b302099a8057";
    assertThat(roundTrip(v7)).isEqualTo(v7);
  }

  @Test
  void anyOtherIdIsKeptAsItsTextSoNoTwoIdsShareBytes() throws Exception {
    String upper = "01890A5D-AC96-774B-BCCE-B302099A8057";
    assertThat(roundTrip(upper)).as("upper case is another id").isEqualTo(upper);
    assertThat(bytes(upper)).isNotEqualTo(bytes(upper.toLowerCase()));
    for (String id :
        new String[] {
          "", "e1", "order-2026-00001", "01890a5d-ac96-774b-bcce-b302099a805", "ü-ñ-✓"
        }) {
      assertThat(roundTrip(id)).isEqualTo(id);
    }
  }
}
