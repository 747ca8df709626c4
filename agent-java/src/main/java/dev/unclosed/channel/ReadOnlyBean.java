package dev.unclosed.channel;

import java.util.Map;
import java.util.function.Supplier;
import javax.management.Attribute;
import javax.management.AttributeList;
import javax.management.AttributeNotFoundException;
import javax.management.DynamicMBean;
import javax.management.MBeanAttributeInfo;
import javax.management.MBeanInfo;
import javax.management.ReflectionException;

/**
 * An MBean of read-only attributes whose values come together from one reading, so that the
 * attributes a client asks for at once agree with each other (opened = released + leaked + held).
 */
final class ReadOnlyBean implements DynamicMBean {
    private final MBeanInfo info;
    private final Supplier<Map<String, Object>> reading;

    ReadOnlyBean(String description, MBeanAttributeInfo[] attributes, Supplier<Map<String, Object>> reading) {
        this.info = new MBeanInfo(ReadOnlyBean.class.getName(), description, attributes, null, null, null);
        this.reading = reading;
    }

    static MBeanAttributeInfo attribute(String name, Class<?> type, String description) {
        return new MBeanAttributeInfo(name, type.getName(), description, true, false, false);
    }

    @Override
    public Object getAttribute(String name) throws AttributeNotFoundException {
        Map<String, Object> values = reading.get();
        if (!values.containsKey(name)) throw new AttributeNotFoundException(name);
        return values.get(name);
    }

    @Override
    public AttributeList getAttributes(String[] names) {
        Map<String, Object> values = reading.get();
        AttributeList list = new AttributeList();
        for (String name : names) {
            if (values.containsKey(name)) list.add(new Attribute(name, values.get(name)));
        }
        return list;
    }

    @Override
    public void setAttribute(Attribute attribute) throws AttributeNotFoundException {
        throw new AttributeNotFoundException(attribute.getName() + " is read-only");
    }

    @Override
    public AttributeList setAttributes(AttributeList attributes) {
        return new AttributeList();
    }

    @Override
    public Object invoke(String action, Object[] params, String[] signature) throws ReflectionException {
        throw new ReflectionException(new NoSuchMethodException(action), "no operations");
    }

    @Override
    public MBeanInfo getMBeanInfo() {
        return info;
    }
}
