"""The gate's verdict as CI reads it: a compact list of failing sites, or JUnit XML."""

from xml.sax.saxutils import escape, quoteattr

from ..gate import BASELINE_RULE, GateResult
from ..units import human_bytes

FRAMES_SHOWN = 4


def write_text(result: GateResult, fail_on: list[str], out) -> None:
    w = out.write
    for run in result.unjudged_runs:
        w(f"unclosed: JVM {run['pid']} ({run['main_class'] or '?'}) did not exit normally (killed, or still "
          f"running): its run {run['id']} is incomplete; objects it still held are not judged\n")
    if result.baselined:
        w(f"unclosed: {len(result.baselined)} site(s) excused by the baseline (matched by {BASELINE_RULE})\n")
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
