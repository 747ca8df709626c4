package dev.unclosed.instrument;

import static net.bytebuddy.matcher.ElementMatchers.isConstructor;
import static net.bytebuddy.matcher.ElementMatchers.isStatic;
import static net.bytebuddy.matcher.ElementMatchers.named;
import static net.bytebuddy.matcher.ElementMatchers.not;
import static net.bytebuddy.matcher.ElementMatchers.returns;

import dev.unclosed.rules.Rule;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import net.bytebuddy.description.method.MethodDescription;
import net.bytebuddy.description.type.TypeDescription;
import net.bytebuddy.matcher.ElementMatcher;

/**
 * What a rule's advice goes on, and whether that is anything: a rule that matches no method of
 * its class tracks nothing, silently, unless someone says so. Its status is known once its
 * class is loaded (now, or when it loads).
 */
public final class RuleMatch {
    public final Rule rule;
    private volatile boolean loaded;
    private volatile List<String> problems = Collections.emptyList();

    RuleMatch(Rule rule) {
        this.rule = rule;
    }

    /** The rule's acquire methods: its class's constructors, or the named method returning something. */
    ElementMatcher<MethodDescription> acquire() {
        return rule.byConstructor() ? isConstructor() : named(rule.acquire).and(not(returns(void.class)));
    }

    /** One release method's matcher: declared by the class, not static. */
    static ElementMatcher<MethodDescription> release(String name) {
        return named(name).and(not(isStatic()));
    }

    /** Checks the rule against its class (loaded now); returns what matched nothing. */
    List<String> check(TypeDescription type) {
        List<String> found = new ArrayList<>();
        if (type.getDeclaredMethods().filter(acquire()).isEmpty()) {
            found.add(rule.byConstructor() ? type.getName() + " has no constructor (an interface?)"
                    : "acquire = \"" + rule.acquire + "\" matches no method of " + type.getName() + " that returns a value");
        }
        for (String name : rule.release) {
            if (type.getDeclaredMethods().filter(release(name)).isEmpty()) {
                found.add("release \"" + name + "\" matches no method declared by " + type.getName()
                        + " (inherited methods are not matched; static ones are not releases)");
            }
        }
        problems = Collections.unmodifiableList(found);
        loaded = true;
        return found;
    }

    public boolean loaded() {
        return loaded;
    }

    /** What of the rule matches nothing; empty when all matches, or when its class has not loaded yet. */
    public List<String> problems() {
        return problems;
    }
}
