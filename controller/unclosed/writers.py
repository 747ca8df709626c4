"""One table per result, format name -> writer: the CLI's --format choices and the library's
`write_report` look writers up here, and nowhere else."""

from .errors import UnclosedError
from .renderers import diff, explain, gate, html, report
from .report import read_report
from .store import Store

# A report's writers take a report.RunReport and a text stream.
REPORT_WRITERS = {"text": report.write_text, "json": report.write_json, "html": html.write_report,
                  "collapsed": report.write_collapsed}
# A diff's take a diff.RunDiff: text and JSON render its document alone.
DIFF_WRITERS = {"text": lambda run_diff, out: diff.write_text(run_diff.document, out),
                "json": lambda run_diff, out: diff.write_json(run_diff.document, out),
                "html": html.write_diff}
# The gate's take a gate.GateResult, the --fail-on selectors and a text stream.
GATE_WRITERS = {"text": gate.write_text, "junit": gate.write_junit}
# Explain's are made for a stream (and the --watch interval and count), then take each report.
EXPLAIN_WRITERS = {"text": explain.ExplainText, "json": explain.ExplainJson}

# The formats that draw runs over time: only for them is a run's timeline read (every drain's
# counts of every site, which on a long recording takes longer than all the rest).
DRAWS_TIMELINES = {"html"}


def write_report(store: Store, out, format: str = "text", run_id: int | None = None, kinds=None,
                 families=None, include_clean: bool = False, value: str = "bytes") -> list[dict]:
    """Writes the report of one run (default: the latest) to the text stream `out`; returns the
    sites it lists. `value` is what `collapsed` counts (collapsed.VALUES: bytes, leaked, ...)."""
    if format not in REPORT_WRITERS:
        *first, last = REPORT_WRITERS
        raise UnclosedError(f"unknown report format {format!r} ({', '.join(first)} or {last})")
    found = read_report(store, run_id, kinds, families, include_clean, value, timeline=format in DRAWS_TIMELINES)
    REPORT_WRITERS[format](found, out)
    return found.sites
