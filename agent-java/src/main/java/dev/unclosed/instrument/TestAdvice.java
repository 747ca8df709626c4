package dev.unclosed.instrument;

import dev.unclosed.boot.Recorder;
import dev.unclosed.boot.TestNames;
import net.bytebuddy.asm.Advice;

/**
 * Advice in the test frameworks' own classes: the test that runs now is what objects created
 * meanwhile, on any thread, are attributed to. JUnit 4 tells its listeners through
 * {@code RunNotifier}; the JUnit Platform (JUnit 5, and JUnit 4 through its vintage engine)
 * through {@code ExecutionListenerAdapter}, which feeds Gradle's, Maven Surefire's and the
 * IDEs' listeners alike.
 */
final class TestAdvice {
    private TestAdvice() {}

    /** On {@code RunNotifier.fireTestStarted(Description)}. */
    static final class JUnit4Started {
        @Advice.OnMethodEnter(suppress = Throwable.class)
        static void enter(@Advice.Argument(0) Object description) {
            Recorder.testStarted(TestNames.ofJUnit4(description));
        }
    }

    /** On {@code RunNotifier.fireTestFinished(Description)}. */
    static final class JUnit4Finished {
        @Advice.OnMethodExit(suppress = Throwable.class)
        static void exit(@Advice.Argument(0) Object description) {
            Recorder.testFinished(TestNames.ofJUnit4(description));
        }
    }

    /** On {@code ExecutionListenerAdapter.executionStarted(TestDescriptor)}. */
    static final class PlatformStarted {
        @Advice.OnMethodEnter(suppress = Throwable.class)
        static void enter(@Advice.Argument(0) Object descriptor) {
            Recorder.testStarted(TestNames.ofPlatform(descriptor));
        }
    }

    /** On {@code ExecutionListenerAdapter.executionFinished(TestDescriptor, TestExecutionResult)}. */
    static final class PlatformFinished {
        @Advice.OnMethodExit(suppress = Throwable.class)
        static void exit(@Advice.Argument(0) Object descriptor) {
            Recorder.testFinished(TestNames.ofPlatform(descriptor));
        }
    }
}
