"""The CI gate: which recorded sites fail a build, baselines that let a team adopt the gate on
an old codebase, and the output CI systems read (a compact list, or JUnit XML)."""

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from .errors import UnclosedError
from .report import human_bytes, site_findings
from .store import Store

GATE_FAILED = 3  # exit code: the command succeeded, but a failing kind leaked or was held at exit
BASELINE_FORMAT = 1
SIGNATURE_RULE = "kind, and the class and method of the culprit frame (line numbers ignored)"
FRAMES_SHOWN = 4


def parse_fail_on(text: str) -> list[str]:
    """`zlib`, `GZIPOutputStream`, `zlib,java.util.zip.Inflater`: families or kinds."""
    selectors = [part.strip() for part in text.split(",") if part.strip()]
    if not selectors:
        raise UnclosedError("--fail-on needs a family (zlib) or a kind (GZIPOutputStream), comma separated")
    return selectors


def selected(site: dict, selectors: list[str]) -> bool:
    kind = site["kind"] or ""
    return any(s == site["family"] or s == kind or kind.endswith("." + s) for s in selectors)


def signature(site: dict) -> str:
    """What a baseline matches on: survives line-number changes, not renames."""
    culprit = re.sub(r"\(.*\)$", "", site["culprit"] or "") or (site["frames"] or ["?"])[0]
    return f"{site['kind']} @ {culprit}"


@dataclass
class GateResult:
    failing: list = field(default_factory=list)    # (run, site) pairs that fail the gate
    baselined: list = field(default_factory=list)  # (run, site) pairs a baseline excuses
    unjudged_runs: list = field(default_factory=list)  # runs whose JVM did not exit normally
    runs: list = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failing


def evaluate(store: Store, run_ids: list[int], fail_on: list[str], baseline: set[str] | None = None) -> GateResult:
    """A site fails when objects of a selected kind leaked, or were still held when its JVM
    exited normally. For a JVM that was killed, or is still running, held objects are not
    judged (nobody can say they would not have been released); leaks still are."""
    result = GateResult()
    for run_id in run_ids:
        run = store.run(run_id)
        result.runs.append(run)
        exited = bool(run.get("exit_ms"))
        if not exited:
            result.unjudged_runs.append(run)
        for site in site_findings(store, run_id):
            if not selected(site, fail_on) or not (site["leaked"] or (exited and site["held"])):
                continue
            (result.baselined if baseline and signature(site) in baseline else result.failing).append((run, site))
    return result


def write_baseline(store: Store, run_ids: list[int], fail_on: list[str], path) -> int:
    """Writes today's failing sites as a baseline; returns how many."""
    result = evaluate(store, run_ids, fail_on)
    sites = {}
    for _, site in result.failing:
        entry = sites.setdefault(signature(site), {"signature": signature(site), "kind": site["kind"],
                                                   "culprit": site["culprit"], "leaked": 0, "held": 0})
        entry["leaked"] += site["leaked"]
        entry["held"] += site["held"]
    Path(path).write_text(json.dumps({"unclosed_baseline": BASELINE_FORMAT, "matches_by": SIGNATURE_RULE,
                                      "sites": sorted(sites.values(), key=lambda s: s["signature"])}, indent=2) + "\n")
    return len(sites)


def read_baseline(path) -> set[str]:
    try:
        data = json.loads(Path(path).read_text())
        if data.get("unclosed_baseline") != BASELINE_FORMAT:
            raise ValueError("not an unclosed baseline")
        return {site["signature"] for site in data["sites"]}
    except FileNotFoundError:
        raise UnclosedError(f"no baseline file {path}") from None
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise UnclosedError(f"{path} is not an unclosed baseline (write one with `unclosed baseline`): {e}") from None


def write_gate_text(result: GateResult, fail_on: list[str], out) -> None:
    w = out.write
    for run in result.unjudged_runs:
        w(f"unclosed: JVM {run['pid']} ({run['main_class'] or '?'}) did not exit normally (killed, or still "
          f"running): its run {run['id']} is incomplete; objects it still held are not judged\n")
    if result.baselined:
        w(f"unclosed: {len(result.baselined)} site(s) excused by the baseline (matched by {SIGNATURE_RULE})\n")
    if result.passed:
        w(f"unclosed: gate passed: no {', '.join(fail_on)} resource left unreleased in {len(result.runs)} JVM(s)\n")
        return
    w(f"unclosed: gate FAILED: {len(result.failing)} site(s) left {', '.join(fail_on)} resources unreleased:\n")
    for run, site in result.failing:
        w(f"  {_summary(run, site)}\n")
        w(f"    culprit: {site['culprit'] or '(no frame outside the JDK)'}\n")
        for frame in _frames_from_culprit(site):
            w(f"      at {frame}\n")


def write_junit(result: GateResult, fail_on: list[str], out) -> None:
    """JUnit XML: one failing test case per failing site, or one passing case."""
    cases = []
    for run, site in result.failing:
        name = site["culprit"] or site["frames"][0]
        details = "\n".join(f"at {frame}" for frame in site["frames"])
        cases.append(f'  <testcase classname={quoteattr("unclosed." + (site["kind"] or "?"))} name={quoteattr(name)}>\n'
                      f'    <failure message={quoteattr(_summary(run, site))} type="unclosed.Leak">'
                      f'{escape(details)}</failure>\n  </testcase>')
    if not cases:
        cases.append(f'  <testcase classname="unclosed" name={quoteattr("no unreleased " + ", ".join(fail_on))}/>')
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n'
              f'<testsuite name="unclosed" tests="{len(cases)}" failures="{len(result.failing)}" errors="0">\n'
              + "\n".join(cases) + "\n</testsuite>\n")


def _summary(run: dict, site: dict) -> str:
    parts = [f"{what} {site[what]} ({human_bytes(site['bytes_' + what])})" for what in ("leaked", "held") if site[what]]
    return (f"{site['kind']}: {', '.join(parts)} of {site['opened']} opened "
            f"in JVM {run['pid']} ({run['main_class'] or '?'})")


def _frames_from_culprit(site: dict) -> list[str]:
    frames = site["frames"]
    start = frames.index(site["culprit"]) + 1 if site["culprit"] in frames else 0
    return frames[start:start + FRAMES_SHOWN]
