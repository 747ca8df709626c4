package dev.unclosed.boot;

import java.lang.reflect.Method;

/**
 * A test's name as people know it, {@code pkg.Class.method} (with {@code [N]} for the Nth
 * invocation of a parameterized one), from what test frameworks pass their listeners. Called by
 * advice in the frameworks' own classes, so it names no framework type: JUnit 4's
 * {@code Description} is read through its display name, the JUnit Platform's
 * {@code TestDescriptor} through reflection.
 */
public final class TestNames {
    private TestNames() {}

    /** From JUnit 4's display name {@code method(pkg.Class)}; null when it names no method. */
    public static String ofJUnit4(Object description) {
        String name = String.valueOf(description);
        int open = name.lastIndexOf('(');
        if (open <= 0 || !name.endsWith(")")) return null;
        return name.substring(open + 1, name.length() - 1) + "." + name.substring(0, open);
    }

    /**
     * From a JUnit Platform {@code TestDescriptor}; null for a container (a class, an engine).
     * Its unique id names the class and method: {@code [engine:junit-jupiter]/[class:p.C]/[method:m()]},
     * {@code .../[test-template:m(int)]/[test-template-invocation:#2]}, {@code [runner:p.C]/[test:m(p.C)]}.
     */
    public static String ofPlatform(Object descriptor) {
        try {
            Method isTest = descriptor.getClass().getMethod("isTest");
            if (!Boolean.TRUE.equals(isTest.invoke(descriptor))) return null;
            String id = String.valueOf(descriptor.getClass().getMethod("getUniqueId").invoke(descriptor));
            String className = null;
            String method = null;
            String invocation = "";
            for (String segment : id.split("/")) {
                if (!segment.startsWith("[") || !segment.endsWith("]") || segment.indexOf(':') < 0) continue;
                String type = segment.substring(1, segment.indexOf(':'));
                String value = segment.substring(segment.indexOf(':') + 1, segment.length() - 1);
                if (type.equals("class") || type.equals("nested-class") || type.equals("runner")) className = value;
                else if (type.equals("method") || type.equals("test-template") || type.equals("test-factory")) method = withoutParameters(value);
                else if (type.equals("test")) return ofJUnit4(value);
                else if (type.endsWith("-invocation") || type.equals("dynamic-test")) invocation += "[" + value.replace("#", "") + "]";
            }
            if (className != null && method != null) return className + "." + method + invocation;
            return String.valueOf(descriptor.getClass().getMethod("getDisplayName").invoke(descriptor));
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }

    private static String withoutParameters(String method) {
        int open = method.indexOf('(');
        return open < 0 ? method : method.substring(0, open);
    }
}
