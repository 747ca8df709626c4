"""What a run found, as its reports show it: one record read from the store, which the
writers of `report` (renderers/) render in each format."""

from dataclasses import dataclass
from pathlib import Path

from .store import Store


@dataclass
class RunReport:
    db: Path  # the database the run is in
    run: dict
    sites: list[dict]  # Store.site_findings: worst first, as asked (kinds, families, include_clean)
    totals: dict  # Store.site_totals: every site of the run, whatever was asked
    errors: int  # the agent's own
    counters: dict[str, int]  # the agent's own counters (dropped_*, errors, ...) at the last drain
    direct_pool: dict | None
    timeline: dict | None  # Store.timeline, for the formats that draw the run over time
    kinds: list[str]  # what was asked: these kinds only (none: all)
    families: list[str]  # and these families only
    value: str = "bytes"  # what a collapsed stack counts (collapsed.VALUES)


def read_report(store: Store, run_id: int | None = None, kinds=None, families=None, include_clean: bool = False,
                value: str = "bytes", timeline: bool = False) -> RunReport:
    """The report of one run (default: the latest). `timeline` reads every drain's counts as
    well, which on a long recording takes longer than all the rest."""
    run = store.run(run_id)
    return RunReport(
        db=store.path, run=run,
        sites=store.site_findings(run["id"], kinds, families, include_clean),
        totals=store.site_totals(run["id"]), errors=store.error_count(run["id"]),
        counters=store.counters(run["id"]), direct_pool=store.direct_pool(run["id"]),
        timeline=store.timeline(run["id"]) if timeline else None,
        kinds=list(kinds or []), families=list(families or []), value=value)
