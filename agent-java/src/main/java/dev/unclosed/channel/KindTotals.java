package dev.unclosed.channel;

import dev.unclosed.boot.Recorder;
import dev.unclosed.boot.SiteTotals;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One kind's totals since tracking began (the kind a user sees, e.g.
 * {@code java.util.zip.GZIPOutputStream}): its counting sites summed, those of objects found
 * alive at attach included. What the metrics endpoint and the MBeans show.
 */
final class KindTotals {
    final String kind;
    final String family;
    long opened;
    long released;
    long leaked;
    long held;
    long bytesHeld;
    long bytesLeaked;

    KindTotals(String kind, String family) {
        this.kind = kind;
        this.family = family;
    }

    /** Every kind's totals now, by kind name. Summed here, when read, so that recording does no more work. */
    static List<KindTotals> now() {
        return of(Recorder.totals());
    }

    static List<KindTotals> of(List<SiteTotals> sites) {
        Map<String, KindTotals> byKind = new TreeMap<>();
        for (SiteTotals t : sites) {
            KindTotals k = byKind.computeIfAbsent(t.site.kind(), kind -> new KindTotals(kind, t.site.family()));
            k.opened += t.opened;
            k.released += t.released;
            k.leaked += t.leaked;
            k.held += t.held;
            k.bytesHeld += t.bytesHeld;
            k.bytesLeaked += t.bytesLeaked;
        }
        return new ArrayList<>(byKind.values());
    }
}
