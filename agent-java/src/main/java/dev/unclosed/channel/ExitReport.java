package dev.unclosed.channel;

import dev.unclosed.boot.SiteTotals;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/** The leak report the agent prints itself at exit ({@code report=stderr}). */
public final class ExitReport {
    private static final int FRAMES = 6;

    private ExitReport() {}

    public static void print(List<SiteTotals> totals, int sample, PrintStream out) {
        List<SiteTotals> findings = new ArrayList<>();
        for (SiteTotals t : totals) {
            if (t.leaked > 0 || t.held > 0) findings.add(t);
        }
        findings.sort((a, b) -> a.leaked != b.leaked ? Long.compare(b.leaked, a.leaked) : Long.compare(b.held, a.held));
        String sampled = sample > 1 ? " (sampled: 1 object in " + sample + " tracked, so about " + sample + " x these counts)" : "";
        if (findings.isEmpty()) {
            out.println("unclosed: every tracked resource was released" + sampled);
            return;
        }
        out.println("unclosed: " + findings.size() + " site(s) left resources unreleased at exit" + sampled + ":");
        for (SiteTotals t : findings) {
            String culprit = t.site.culprit();
            out.println("  " + t.site.kind() + ": leaked " + t.leaked + ", held " + t.held + " of " + t.opened + " opened, at "
                    + (culprit.isEmpty() ? "(no frame outside the JDK)" : culprit));
            String[] frames = t.site.frames();
            for (int i = 0; i < Math.min(FRAMES, frames.length); i++) out.println("      at " + frames[i]);
        }
        out.flush();
    }
}
