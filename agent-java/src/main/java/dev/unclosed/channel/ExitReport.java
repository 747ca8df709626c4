package dev.unclosed.channel;

import dev.unclosed.boot.Drain;
import dev.unclosed.boot.Site;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/** The leak report the agent prints itself at exit ({@code report=stderr}). */
public final class ExitReport {
    private static final int FRAMES = 6;

    private ExitReport() {}

    public static void print(Drain drain, PrintStream out) {
        List<Site> findings = new ArrayList<>();
        for (Site s : drain.creationSites) {
            long[] t = s.totals();
            if (t[2] > 0 || t[3] > 0) findings.add(s);
        }
        findings.sort((a, b) -> {
            long[] x = a.totals(), y = b.totals();
            return x[2] != y[2] ? Long.compare(y[2], x[2]) : Long.compare(y[3], x[3]);
        });
        if (findings.isEmpty()) {
            out.println("unclosed: every tracked resource was released");
            return;
        }
        out.println("unclosed: " + findings.size() + " site(s) left resources unreleased at exit:");
        for (Site s : findings) {
            long[] t = s.totals();
            out.println("  " + s.kind() + ": leaked " + t[2] + ", held " + t[3] + " of " + t[0] + " opened, at "
                    + (s.culprit().isEmpty() ? "(no frame outside the JDK)" : s.culprit()));
            String[] frames = s.frames();
            for (int i = 0; i < Math.min(FRAMES, frames.length); i++) out.println("      at " + frames[i]);
        }
        out.flush();
    }
}
