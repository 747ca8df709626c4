"""The gate's verdict as CI reads it: a log a person reads (a one-line summary, then each finding
in a few lines: kind and counts, culprit, the top tests, the top path), or JUnit XML."""

from xml.sax.saxutils import escape, quoteattr

from ..findings import MergedFinding
from ..gate import BASELINE_RULE, GateResult
from ..signature import culprit_index, is_application, line_of
from ..units import counted_names, human_bytes, printable

TESTS_SHOWN = 3
PATH_FRAMES_SHOWN = 4  # application frames of the top path; the rest is folded into "..."


def write_text(result: GateResult, fail_on: list[str], out) -> None:
    def w(line: str) -> None:
        out.write(printable(line) + "\n")

    w(f"unclosed: {_verdict(result, fail_on)}")
    for problem in result.problems:
        w(f"  {problem.message}")
    for note in result.notes:
        w(f"  {note}")
    if result.baselined:
        w(f"  {_count(len(result.baselined), 'finding')} excused by the baseline (matched by {BASELINE_RULE})")
    for finding in result.failing:
        w("")
        w(f"{finding.kind}: {_counts(finding)}; {_seen(finding, result)}")
        w(f"  culprit: {_culprit(finding)}{_other_lines(finding)}")
        if finding.tests:
            w(f"  tests: {counted_names(finding.tests, TESTS_SHOWN)}")
        path, paths = _path(finding.top_path), len(finding.paths)
        if path:
            w(f"  path 1 of {paths}:" if paths > 1 else "  path:")
            for frame in path:
                w(f"    {frame if frame == '...' else 'at ' + frame}")


def write_junit(result: GateResult, fail_on: list[str], out) -> None:
    """JUnit XML: one failing test case per finding (naming its tests) and per problem with the
    data, or one passing case."""
    cases = []
    for f in result.failing:
        details = [f"culprit: {c}" for c in f.culprits]
        details += [f"test: {name} ({count})" for name, count in f.tests]
        details += [f"at {frame}" for frame in f.top_path["frames"]]
        message = f"{f.kind}: {_counts(f)}; {_seen(f, result)}" + (f"; tests: {counted_names(f.tests, TESTS_SHOWN)}" if f.tests else "")
        cases.append(_case(f"unclosed.{f.kind}", _culprit(f), message, "unclosed.Leak", "\n".join(details)))
    for problem in result.problems:
        cases.append(_case("unclosed.data", problem.title, problem.message, "unclosed.IncompleteData", problem.message))
    failures = len(cases)
    if not cases:
        cases.append(f'  <testcase classname="unclosed" name={quoteattr("no unreleased " + ", ".join(fail_on))}/>')
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n'
              f'<testsuite name="unclosed" tests="{len(cases)}" failures="{failures}" errors="0">\n'
              + "\n".join(cases) + "\n</testsuite>\n")


def _case(classname: str, name: str, message: str, kind: str, details: str) -> str:
    # printable: XML 1.0 cannot hold most control characters at all.
    return (f'  <testcase classname={quoteattr(printable(classname))} name={quoteattr(printable(name))}>\n'
            f'    <failure message={quoteattr(printable(message))} type="{kind}">'
            f'{escape(chr(10).join(printable(line) for line in details.splitlines()))}</failure>\n  </testcase>')


def _verdict(result: GateResult, fail_on: list[str]) -> str:
    judged = _count(len(result.runs), "JVM")
    sampled = f"; sampled, about {' or '.join(f'{n} x' for n in result.samples)}" if result.samples else ""
    if result.passed:
        return f"gate passed: no {', '.join(fail_on)} resource left unreleased ({judged}{sampled})"
    parts = []
    if result.failing:
        parts.append(f"{_count(len(result.failing), 'finding')} left {', '.join(fail_on)} resources unreleased")
    if result.problems:
        parts.append(f"{_count(len(result.problems), 'problem')} with the data")
    return f"gate FAILED: {', '.join(parts)} ({judged}{sampled})"


def _counts(f: MergedFinding) -> str:
    parts = [f"{what} {f.total(what)} ({human_bytes(f.total('bytes_' + what))})"
             for what in ("leaked", "held") if f.total(what)]
    return f"{', '.join(parts)} of {f.total('opened')} opened"


def _seen(f: MergedFinding, result: GateResult) -> str:
    if result.sources > 1:
        return f"seen in {f.sources} of {result.sources} sources ({_count(f.jvms, 'JVM')})"
    if f.jvms == 1:
        run = f.members[0][0].run
        return f"in JVM {run['pid']} ({run.get('main_class') or '?'})"
    return f"in {f.jvms} of {len(result.runs)} JVMs"


def _culprit(f: MergedFinding) -> str:
    if f.culprit:
        return f.culprit
    if f.top_path.get("role") == "p":
        return "(created before tracking began: no stack)"
    return f"(no frame outside the JDK: {(f.top_path['frames'] or ['?'])[0]})"


def _other_lines(f: MergedFinding) -> str:
    """The other culprit lines of its method, when several of them forgot."""
    lines = [str(line_of(c)) for c in f.culprits[1:]]
    return f" (and line{'s' if len(lines) > 1 else ''} {', '.join(lines)})" if lines else ""


def _path(site: dict) -> list[str]:
    """The frames below the culprit that are the application's, a few; each stretch of the JDK's
    (reflection) and test runners' frames, and what is past the few, folded into one "...".
    Nothing when no application frame is below the culprit."""
    lines, shown = [], 0
    for frame in site["frames"][culprit_index(site) + 1:]:
        if is_application(frame) and shown < PATH_FRAMES_SHOWN:
            lines.append(frame)
            shown += 1
        elif lines[-1:] != ["..."]:
            lines.append("...")
    return lines if shown else []


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
