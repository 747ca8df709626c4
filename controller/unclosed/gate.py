"""The CI gate: which findings fail a build, and baselines that let a team adopt the gate on an
old codebase. It judges the findings of runs (findings.RunFindings: gate_source.py reads them),
merged across runs and sources by key; renderers/gate.py writes the verdict for CI.

The gate fails closed: data that is missing, cut short, of an unknown kind or of a JVM that did
not exit is a problem that fails it, never "nothing leaked" for what was not seen."""

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

from .errors import UnclosedError
from .findings import Finding, MergedFinding, RunFindings, merge_findings
from .units import clock

GATE_FAILED = 3  # exit code: the command succeeded, but the gate failed
BASELINE_FORMAT = 2  # 1 listed "sites" by the same key; it is still read
BASELINE_RULE = "kind, and the class and method of the culprit frame (line numbers ignored)"


def parse_fail_on(text: str) -> list[str]:
    """`zlib`, `GZIPOutputStream`, `zlib,java.util.zip.Inflater`: families or kinds."""
    selectors = [part.strip() for part in text.split(",") if part.strip()]
    if not selectors:
        raise UnclosedError("--fail-on needs a family (zlib) or a kind (GZIPOutputStream), comma separated")
    return selectors


def selected(finding: Finding, selectors: list[str]) -> bool:
    kind = finding.kind or ""
    return any(s == finding.family or s == kind or kind.endswith("." + s) for s in selectors)


@dataclass
class Problem:
    """Data the gate cannot judge: it fails the gate, saying what is missing."""
    title: str  # short: the name of its JUnit test case
    message: str  # one line: what is missing and what that means


@dataclass
class GateResult:
    failing: list[MergedFinding] = field(default_factory=list)
    baselined: list[MergedFinding] = field(default_factory=list)  # failing, but excused by a baseline
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the verdict rests on, when not everything
    runs: list[RunFindings] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failing and not self.problems

    @property
    def samples(self) -> list[int]:
        """The agents' `sample` where runs were sampled (1 object tracked in N)."""
        return sorted({rf.run["sample"] for rf in self.runs if (rf.run.get("sample") or 1) > 1})

    @property
    def sources(self) -> int:
        return len({rf.source for rf in self.runs})


def evaluate(runs: list[RunFindings], fail_on: list[str], baseline: set[str] | None = None,
             allow_incomplete: bool = False) -> GateResult:
    """A finding of a selected kind fails when objects leaked, or were still held when its JVM
    exited. A JVM whose data ends without its exit record is judged on what it wrote (its leaks:
    what it held may yet be released) when it is known to be still running, or with
    `allow_incomplete`; otherwise it is a problem. So are the agent's counters saying that
    objects went untracked, and sites whose kind never reached the run."""
    result = GateResult(runs=list(runs))
    judged = []
    for rf in runs:
        jvm = _jvm(rf.run)
        exited = rf.run.get("exit_ms") is not None
        if not exited:
            until = clock(rf.run["last_drain_ms"]) if rf.run.get("last_drain_ms") else "its start (it wrote nothing)"
            if rf.running or allow_incomplete:
                why = "is still running" if rf.running else "did not exit normally (--allow-incomplete)"
                result.notes.append(f"{jvm} {why}: judged on what it wrote until {until}: its leaks; "
                                    "objects it held are not judged")
            else:
                result.problems.append(Problem(
                    f"{jvm}: incomplete data",
                    f"{jvm} did not exit normally: its data ends at {until}; what it did after is unknown "
                    "(--allow-incomplete judges it on what it wrote)"))
        result.problems += _counter_problems(rf, jvm)

        def unreleased(f: Finding) -> bool:
            return bool(f.total("leaked") or (exited and f.total("held")))

        unknown = [f for f in rf.grouped.findings if f.unknown and unreleased(f)]
        if unknown:
            result.problems.append(Problem(
                f"{jvm}: unknown kind",
                f"{jvm}: {_objects(unknown, exited)} at {len(unknown)} site(s) whose definition never reached "
                "the run: their kind is unknown"))
        # Sites without a culprit (only JDK frames, or objects alive before tracking began) are
        # judged too, each on its own: what they leave unreleased is no less unreleased.
        stackless = [Finding(site["kind"], site["family"], None, [site])
                     for site in rf.grouped.jdk_internal + rf.grouped.preexisting]
        judged.append(replace(rf, grouped=replace(rf.grouped, findings=[
            f for f in rf.grouped.findings + stackless if not f.unknown and selected(f, fail_on) and unreleased(f)])))
    for finding in merge_findings(judged):
        (result.baselined if baseline and finding.key in baseline else result.failing).append(finding)
    return result


def _counter_problems(rf: RunFindings, jvm: str) -> list[Problem]:
    problems = []
    if rf.counters.get("instrumentation_errors"):
        problems.append(Problem(f"{jvm}: instrumentation errors",
                                f"{jvm}: the agent could not instrument {rf.counters['instrumentation_errors']} "
                                "class(es): objects of their kinds may not have been seen (see its agent.log)"))
    if rf.counters.get("dropped_objects"):
        problems.append(Problem(f"{jvm}: objects not tracked",
                                f"{jvm}: {rf.counters['dropped_objects']} objects were never tracked (past the "
                                "agent's max_tracked): whether they were released is unknown"))
    return problems


def _jvm(run: dict) -> str:
    return f"JVM {run['pid']} ({run.get('main_class') or '?'})"


def _objects(findings: list[Finding], exited: bool) -> str:
    leaked = sum(f.total("leaked") for f in findings)
    held = sum(f.total("held") for f in findings) if exited else 0
    return ", ".join(f"{n} objects {what}" for what, n in (("leaked", leaked), ("held", held)) if n)


def write_baseline(runs: list[RunFindings], fail_on: list[str], path) -> int:
    """Writes today's failing findings as a baseline (what runs did not write cannot be
    excused, so incomplete runs are judged on what they wrote); returns how many."""
    findings = [{"key": f.key, "kind": f.kind, "culprits": f.culprits, "leaked": f.total("leaked"),
                 "held": f.total("held"), "paths": len(f.paths), "jvms": f.jvms}
                for f in evaluate(runs, fail_on, allow_incomplete=True).failing]
    Path(path).write_text(json.dumps({"unclosed_baseline": BASELINE_FORMAT, "matches_by": BASELINE_RULE,
                                      "findings": sorted(findings, key=lambda f: f["key"])}, indent=2) + "\n")
    return len(findings)


def read_baseline(path) -> set[str]:
    """The keys (Finding.key) of the findings a baseline file excuses."""
    try:
        data = json.loads(Path(path).read_text())
        version = data.get("unclosed_baseline")
        if version == 1:
            return {site["signature"] for site in data["sites"]}
        if version != BASELINE_FORMAT:
            raise ValueError("not an unclosed baseline")
        return {finding["key"] for finding in data["findings"]}
    except FileNotFoundError:
        raise UnclosedError(f"no baseline file {path}") from None
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise UnclosedError(f"{path} is not an unclosed baseline (write one with `unclosed baseline`): {e}") from None
