package dev.unclosed.channel;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import javax.management.Attribute;
import javax.management.AttributeList;
import javax.management.AttributeNotFoundException;
import javax.management.MBeanAttributeInfo;
import javax.management.ObjectName;
import org.junit.Test;

public class JmxBeansTest {
    @Test
    public void aPlainKindIsTheNameAsItIs() throws Exception {
        ObjectName name = JmxBeans.kindName("java.util.zip.GZIPOutputStream");
        assertEquals("dev.unclosed:type=Resources,kind=java.util.zip.GZIPOutputStream", name.toString());
        assertFalse(name.isPattern());
    }

    @Test
    public void aKindWithCharactersAnObjectNameCannotHoldIsQuoted() throws Exception {
        for (String kind : new String[] {"a,b", "a=b", "a:b", "a\"b", "a*", "a?", "a\\b", "a\nb"}) {
            ObjectName name = JmxBeans.kindName(kind);
            assertFalse(kind, name.isPattern());
            assertEquals(kind, ObjectName.unquote(name.getKeyProperty("kind")));
            assertEquals("Resources", name.getKeyProperty("type"));
        }
    }

    @Test
    public void theAttributesAskedTogetherComeFromOneReading() throws Exception {
        AtomicInteger readings = new AtomicInteger();
        ReadOnlyBean bean = new ReadOnlyBean("test", new MBeanAttributeInfo[] {
            ReadOnlyBean.attribute("Opened", long.class, "opened"), ReadOnlyBean.attribute("Held", long.class, "held")}, () -> {
                int n = readings.incrementAndGet();
                Map<String, Object> values = new LinkedHashMap<>();
                values.put("Opened", (long) n);
                values.put("Held", (long) n);
                return values;
            });
        AttributeList list = bean.getAttributes(new String[] {"Opened", "Held", "Nothing"});
        assertEquals(1, readings.get());
        assertEquals(2, list.size());
        assertEquals(new Attribute("Held", 1L), list.asList().get(1));
        assertEquals(2L, bean.getAttribute("Opened"));
        try {
            bean.getAttribute("Nothing");
            throw new AssertionError("no such attribute");
        } catch (AttributeNotFoundException expected) {
            assertTrue(expected.getMessage().contains("Nothing"));
        }
    }
}
