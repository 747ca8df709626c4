package dev.unclosed.agent;

import static org.junit.Assert.assertEquals;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import org.junit.Test;

/** What a JDK older than 11 meets: entry classes it can read, and a refusal in one line. */
public class AgentMainTest {
    @Test
    public void readsTheFeatureOfOldAndNewVersionStrings() {
        assertEquals(8, AgentMain.javaFeature("1.8"));
        assertEquals(11, AgentMain.javaFeature("11"));
        assertEquals(25, AgentMain.javaFeature("25"));
        assertEquals(0, AgentMain.javaFeature(null));
    }

    @Test
    public void theEntryClassesAreJava8Bytecode() throws IOException {
        for (Class<?> entry : new Class<?>[] {AgentMain.class, Launcher.class, BootClasses.class, CoreLoader.class}) {
            try (InputStream in = entry.getResourceAsStream(entry.getSimpleName() + ".class")) {
                DataInputStream data = new DataInputStream(in);
                assertEquals(0xCAFEBABE, data.readInt());
                data.readUnsignedShort();
                assertEquals(entry.getName(), 52, data.readUnsignedShort());
            }
        }
    }
}
