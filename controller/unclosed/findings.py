"""Findings: what a person acts on. A finding is one line that forgot to release, for one kind of
resource: a kind and its culprit frame (the first frame outside the JDK and the resource's
library, line number included). Its counts are the sum of its sites (the distinct stacks that
reach that line, in one JVM or several); its paths are its distinct stacks, the one with the most
objects unreleased first; its tests are the tests that created the objects it leaked or holds,
most objects first.

A finding's tests come from two sources, in this order: the agent's attribution (each object
carries the test running when it was created: Store.site_tests), and, for a site without any,
its frames: from the culprit down, the frame just above the test runner's (JUnit, Surefire,
Gradle's test worker, reflection) is the test method the runner called.

Sites with no frame outside the JDK (the JDK's own caches) make no finding: they are summed up
apart (`jdk_internal`). Objects found alive when tracking began (site role `p`) make no finding
either: they have no stack and are reported as what existed before (`preexisting`).
"""

from dataclasses import dataclass, field

from .signature import baseline_key, culprit_index, is_jdk, parse_frame, signature

COUNTS = ("opened", "released", "leaked", "held", "in_flight", "released_by_gc",
          "bytes_leaked", "bytes_held", "bytes_in_flight")
# Frames of test runners and of reflection: the frame just above them is a method a runner called.
RUNNER_PACKAGES = ("org.junit.", "junit.", "org.apache.maven.surefire.", "org.gradle.",
                   "jdk.internal.reflect.", "java.lang.reflect.", "sun.reflect.")
# What test code calls itself among them (assertThrows runs the test's lambda): not the runner.
TEST_API_PACKAGES = ("org.junit.jupiter.api.", "org.junit.Assert.", "org.junit.Assume.")


def is_runner(frame: str) -> bool:
    """A frame of a test runner or of reflection (folded away when a path is shown)."""
    return frame.startswith(RUNNER_PACKAGES) and not frame.startswith(TEST_API_PACKAGES)


def called_by_runner(site: dict) -> str | None:
    """The test method a creation stack ran in, `pkg.Class.method`: from the culprit down, the
    frame just above the first frame of a test runner; None when the stack shows no runner (a
    test's objects made on another thread, or a stack cut short by the agent's `depth`)."""
    frames = site.get("frames") or []
    for i in range(culprit_index(site) + 1, len(frames)):
        above = frames[i - 1]
        if is_runner(frames[i]) and not is_runner(above):
            if is_jdk(above):
                return None
            cls, method, _, _ = parse_frame(above)
            return f"{cls}.{method}"
    return None


def sum_counts(sites: list[dict]) -> dict:
    """The COUNTS of several sites, summed."""
    return {name: sum(site[name] or 0 for site in sites) for name in COUNTS}


def _most_unreleased_first(item: dict) -> tuple:
    return -(item["leaked"] + item["held"]), -(item["bytes_leaked"] + item["bytes_held"]), -item["opened"]


@dataclass
class Finding:
    kind: str | None
    family: str | None
    culprit: str | None
    sites: list[dict]  # Store.site_findings records, most unreleased first
    tests: list[tuple[str, int]] = field(default_factory=list)  # (test, objects), most first
    unknown: bool = False  # a site whose definition never reached the run: its kind cannot be told

    def total(self, name: str) -> int:
        return sum(site[name] or 0 for site in self.sites)

    @property
    def counts(self) -> dict:
        return sum_counts(self.sites)

    @property
    def unreleased(self) -> int:
        return self.total("leaked") + self.total("held")

    @property
    def oldest_held_age_s(self) -> float | None:
        ages = [site["oldest_held_age_s"] for site in self.sites if site.get("oldest_held_age_s") is not None]
        return max(ages) if ages else None

    @property
    def key(self) -> str:
        """What matches it across runs and releases: its kind and its culprit's class and
        method (signature.baseline_key), line numbers ignored."""
        return baseline_key(self.sites[0])

    @property
    def top_path(self) -> dict:
        return self.sites[0]

    @property
    def signature(self) -> str:
        return signature(self.top_path)

    @property
    def runs(self) -> list[int]:
        """The runs (JVMs) its sites are in."""
        return sorted({site["run"] for site in self.sites})

    @property
    def paths(self) -> list[dict]:
        """Its distinct stacks (the same stack in several JVMs is one path), most objects
        unreleased first: {"frames", "detail", "sites" (how many), and the COUNTS summed}."""
        by_stack: dict[tuple, list[dict]] = {}
        for site in self.sites:
            by_stack.setdefault(tuple(site["frames"] or ()), []).append(site)
        paths = [{"frames": list(stack), "detail": members[0].get("detail"), "sites": len(members),
                  **sum_counts(members)} for stack, members in by_stack.items()]
        return sorted(paths, key=_most_unreleased_first)

    def as_record(self) -> dict:
        """The finding as `report --format json` writes it (README)."""
        return {"kind": self.kind, "family": self.family, "culprit": self.culprit, **self.counts,
                "oldest_held_age_s": self.oldest_held_age_s, "paths": len(self.paths), "runs": self.runs,
                "sites": [{"run": site["run"], "site_id": site["site_id"]} for site in self.sites],
                "tests": [{"name": name, "objects": objects} for name, objects in self.tests]}


@dataclass
class Grouped:
    findings: list[Finding]  # worst first: leaked, then held, then bytes
    jdk_internal: list[dict]  # sites with no frame outside the JDK
    preexisting: list[dict]  # sites of objects found alive when tracking began


def group(sites: list[dict], tests_by_site: dict[int, list[tuple[str, int]]] | None = None,
          tests_by_run: dict[int, dict[int, list[tuple[str, int]]]] | None = None) -> Grouped:
    """Groups sites (Store.site_findings) into findings. The agent's attribution of tests is
    `tests_by_site` (Store.site_tests) for the sites of one run, or `tests_by_run` (run ->
    Store.site_tests) for sites of several; a site it has no test for gets the test its frames show."""
    by_line: dict[tuple, list[dict]] = {}
    jdk_internal, preexisting = [], []
    for site in sites:
        if site.get("role") == "p":
            preexisting.append(site)
        elif not site.get("culprit") and not site.get("unknown"):
            jdk_internal.append(site)
        else:
            key = (site.get("kind"), site.get("culprit")) if not site.get("unknown") else \
                (None, ("site", site.get("run"), site["site_id"]))
            by_line.setdefault(key, []).append(site)
    findings = []
    for (kind, _), members in by_line.items():
        members.sort(key=lambda s: (*_most_unreleased_first(s), s["run"], s["site_id"]))
        tests: dict[str, int] = {}
        for site in members:
            attributed = (tests_by_run or {}).get(site.get("run"), {}) if tests_by_run is not None else tests_by_site
            for name, count in (attributed or {}).get(site["site_id"]) or _tests_in_frames(site):
                tests[name] = tests.get(name, 0) + count
        findings.append(Finding(kind=kind, family=members[0].get("family"), culprit=members[0].get("culprit") if kind else None,
                                sites=members, tests=sorted(tests.items(), key=lambda t: (-t[1], t[0])),
                                unknown=any(s.get("unknown") for s in members)))
    findings.sort(key=lambda f: (-f.total("leaked"), -f.total("held"), -(f.total("bytes_leaked") + f.total("bytes_held")),
                                 f.kind or "", f.culprit or ""))
    return Grouped(findings, jdk_internal, preexisting)


def _tests_in_frames(site: dict) -> list[tuple[str, int]]:
    name, unreleased = called_by_runner(site), site["leaked"] + site["held"]
    return [(name, unreleased)] if name and unreleased else []


def preexisting_by_kind(sites: list[dict]) -> list[dict]:
    """What existed before tracking began (the sites of role `p`), by kind, family and detail,
    most bytes first: {kind, family, count (alive when tracking began), held (still, at the last
    drain), released, leaked (since), bytes (of those still held), detail}. None of them is in
    flight: what the agent found was there before it came."""
    merged: dict[tuple, dict] = {}
    for site in sites:
        if site.get("role") != "p":
            continue
        entry = merged.setdefault((site["kind"], site["family"], site.get("detail")), {
            "kind": site["kind"], "family": site["family"], "count": 0, "held": 0, "released": 0, "leaked": 0,
            "bytes": 0, "detail": site.get("detail")})
        entry["count"] += site["opened"]
        entry["held"] += site["held"] + site["in_flight"]
        entry["released"] += site["released"]
        entry["leaked"] += site["leaked"]
        entry["bytes"] += site["bytes_held"] + site["bytes_in_flight"]
    return sorted(merged.values(), key=lambda e: (-e["bytes"], -e["count"], e["kind"] or "", e["detail"] or ""))


# -- several runs at once: a fleet (one database or data folder per host or JVM) ------------------

@dataclass
class RunFindings:
    """One run (one JVM) and its findings, as read from its source (gate_source.read_sources)."""
    source: str  # the database or data folder it was read from
    run: dict
    grouped: Grouped
    counters: dict[str, int]  # Store.counters: the agent's own (dropped_objects, instrumentation_errors, ...)
    running: bool = False  # its JVM is known to be running still: its data has no end yet


@dataclass
class MergedFinding(Finding):
    """The findings of one key (Finding.key) across runs and sources, as one finding: one line
    that forgot (or several lines of its method), however many JVMs and hosts reached it."""
    merge_key: str = ""
    members: list[tuple[RunFindings, Finding]] = field(default_factory=list)  # most unreleased first

    @property
    def key(self) -> str:
        return self.merge_key

    @property
    def culprits(self) -> list[str]:
        """Its culprit lines, the worst first."""
        return list(dict.fromkeys(f.culprit for _, f in self.members if f.culprit))

    @property
    def sources(self) -> int:
        """In how many sources (hosts) it was seen."""
        return len({rf.source for rf, _ in self.members})

    @property
    def jvms(self) -> int:
        """In how many runs (JVMs) it was seen."""
        return len({(rf.source, rf.run["id"]) for rf, _ in self.members})


def merge_findings(per_run: list[RunFindings]) -> list[MergedFinding]:
    """Merges the findings of several runs (of one source or several: a fleet) by key, worst
    first: seen in more sources, then in more JVMs, then by bytes leaked, then held. A finding of
    an unknown kind has no key to merge by and stays alone."""
    by_key: dict[str, list[tuple[RunFindings, Finding]]] = {}
    for rf in per_run:
        for finding in rf.grouped.findings:
            key = (f"unknown site {finding.sites[0]['site_id']} of run {rf.run['id']} of {rf.source}"
                   if finding.unknown else finding.key)
            by_key.setdefault(key, []).append((rf, finding))
    merged = []
    for key, members in by_key.items():
        members.sort(key=lambda member: (-member[1].unreleased,
                                         -(member[1].total("bytes_leaked") + member[1].total("bytes_held"))))
        top = members[0][1]
        tests: dict[str, int] = {}
        for _, finding in members:
            for name, count in finding.tests:
                tests[name] = tests.get(name, 0) + count
        merged.append(MergedFinding(
            kind=top.kind, family=top.family, culprit=top.culprit,
            sites=[site for _, f in members for site in f.sites],  # the top member's path first
            tests=sorted(tests.items(), key=lambda t: (-t[1], t[0])), unknown=top.unknown,
            merge_key=key, members=members))
    return sorted(merged, key=lambda m: (-m.sources, -m.jvms, -m.total("bytes_leaked"), -m.total("bytes_held"),
                                         -m.unreleased, m.key))
