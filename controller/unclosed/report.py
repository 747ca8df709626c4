"""What a run found, as its reports show it: one record read from the store, which the
writers of `report` (renderers/) render in each format. A report covers one run, or every run
(JVM) of the latest batch: the JVMs of one build, one data folder, one `unclosed run`."""

import tempfile
from dataclasses import dataclass
from pathlib import Path

from .datafiles import import_data_folder
from .findings import Finding, Grouped, MergedFinding, RunFindings, group, merge_findings, preexisting_by_kind, sum_counts
from .gate_source import read_runs
from .store import Store


def sampled(sample: int | None) -> str | None:
    """What a count means when the agent tracked 1 object in `sample`: `sampled, about 4 x`."""
    return f"sampled, about {sample} x" if (sample or 1) > 1 else None


@dataclass
class JvmReport:
    """One run (one JVM) of a report: its facts and what its agent said of itself."""
    run: dict  # Store.run
    errors: int  # the agent's own
    counters: dict[str, int]  # the agent's own counters (dropped_*, errors, ...) at the last drain
    direct_pool: dict | None
    notes: list[dict]  # Store.notes: what a JDK hid from the agent at attach
    timeline: dict | None  # Store.timeline, for the formats that draw the run over time

    @property
    def start_ms(self) -> int:
        """When what the run counts began: a JVM's start for an agent started with it, and for a
        run imported from its data files (no recorder); else when recording began."""
        run = self.run
        if run["tracking_since_ms"] and (run["mode"] == "startup" or not run["recorder_pid"]):
            return run["tracking_since_ms"]
        return run["started_ms"]

    @property
    def duration_s(self) -> float:
        """From start_ms until the JVM exited, or the last drain."""
        end = self.run["exit_ms"] or self.run["last_drain_ms"] or self.run["ended_ms"] or self.start_ms
        return round(max(0, end - self.start_ms) / 1000, 1)

    @property
    def sampled(self) -> str | None:
        return sampled(self.run["sample"])

    def as_record(self) -> dict:
        """The run as `report --format json` writes it (README)."""
        return dict(self.run, duration_s=self.duration_s, sampled=self.sampled, direct_pool=self.direct_pool,
                    counters=self.counters, notes=self.notes)


@dataclass
class RunReport:
    db: Path  # the database the runs are in
    jvms: list[JvmReport]  # the runs reported, oldest first
    sites: list[dict]  # Store.site_findings of them all: worst first, as asked (kinds, families, include_clean)
    grouped: Grouped  # the sites listed, and the sites of what existed before tracking, as findings
    in_flight: dict  # {"objects", "bytes"}: what the asked sites hold that is younger than a drain interval
    everything: dict  # sum_counts of every creation site with a culprit, whatever was asked, and "sites"
    kinds: list[str]  # what was asked: these kinds only (none: all)
    families: list[str]  # and these families only
    include_clean: bool = False  # sites and findings that released everything are listed too
    value: str = "bytes"  # what a collapsed stack counts (collapsed.VALUES)
    by: str = "finding"  # what text and HTML list: findings, or sites

    @property
    def run(self) -> dict:
        """The latest run reported (the only one, for a report of one run)."""
        return self.jvms[-1].run

    @property
    def timeline(self) -> dict | None:
        return self.jvms[-1].timeline

    @property
    def errors(self) -> int:
        return sum(jvm.errors for jvm in self.jvms)

    @property
    def findings(self) -> list[Finding]:
        return self.grouped.findings

    @property
    def creation_sites(self) -> list[dict]:
        """The sites listed, but those of what existed before tracking (no stack)."""
        return [site for site in self.sites if site["role"] != "p"]

    @property
    def preexisting(self) -> list[dict]:
        return preexisting_by_kind(self.grouped.preexisting)

    @property
    def sampled(self) -> str | None:
        """`sampled, about N x` when the runs were sampled (the largest N of them)."""
        return sampled(max(jvm.run["sample"] or 1 for jvm in self.jvms))

    @property
    def zip_pool_excluded(self) -> int:
        """The Inflaters ZipFile pooled when the agent attached: alive, but ZipFile ends them itself."""
        return sum(jvm.counters.get("preexisting_excluded_zip_pool", 0) for jvm in self.jvms)

    @property
    def notes(self) -> list[dict]:
        """What the JDKs hid from the agent at attach (Store.notes), each said once."""
        return list({(note["family"], note["text"]): note for jvm in self.jvms for note in jvm.notes}.values())


def read_report(store: Store, run_id: int | None = None, kinds=None, families=None, include_clean: bool = False,
                value: str = "bytes", timeline: bool = False, by: str = "finding") -> RunReport:
    """The report of one run, or by default of every run of the latest batch. `timeline` reads
    every drain's counts as well, which on a long recording takes longer than all the rest."""
    runs = [store.run(run_id)] if run_id is not None else store.latest_batch()
    jvms, asked, everything, tests = [], [], [], {}
    for run in runs:
        jvms.append(JvmReport(run=run, errors=store.error_count(run["id"]), counters=store.counters(run["id"]),
                              direct_pool=store.direct_pool(run["id"]), notes=store.notes(run["id"]),
                              timeline=store.timeline(run["id"]) if timeline else None))
        found = store.site_findings(run["id"], kinds, families, include_clean=True)
        asked += found
        everything += store.site_findings(run["id"], include_clean=True) if kinds or families else found
        tests[run["id"]] = store.site_tests(run["id"])
    asked.sort(key=lambda s: (-s["leaked"], -s["held"], -(s["bytes_leaked"] + s["bytes_held"]), s["run"], s["site_id"]))
    def listed(site: dict) -> bool:
        """A site is listed when it leaked or holds something (or with include_clean); what
        existed before tracking is reported whatever became of it."""
        return bool(include_clean or site["leaked"] or site["held"])

    creation = [s for s in asked if s["role"] != "p"]
    with_culprit = [s for s in everything if s["role"] != "p" and (s["culprit"] or s["unknown"])]
    return RunReport(
        db=store.path, jvms=jvms, sites=[s for s in asked if listed(s)],
        grouped=group([s for s in asked if s["role"] == "p" or listed(s)], tests_by_run=tests),
        in_flight={"objects": sum(s["in_flight"] for s in creation),
                   "bytes": sum(s["bytes_in_flight"] for s in creation)},
        everything=dict(sum_counts(with_culprit), sites=len(with_culprit)),
        kinds=list(kinds or []), families=list(families or []), include_clean=include_clean, value=value, by=by)


@dataclass
class FleetReport:
    """Several sources at once (a database or data folder per host or per JVM): their findings
    merged by key (findings.merge_findings), the ones seen in the most sources first."""
    runs: list[RunFindings]  # each source's runs: a database's latest batch, a data folder's JVMs
    findings: list[MergedFinding]
    include_clean: bool = False

    @property
    def sources(self) -> list[str]:
        return list(dict.fromkeys(rf.source for rf in self.runs))

    @property
    def sampled(self) -> str | None:
        return sampled(max([rf.run["sample"] or 1 for rf in self.runs] or [1]))


def read_fleet(paths: list[Path], kinds=None, families=None, include_clean: bool = False) -> FleetReport:
    """The fleet report of several sources: of each database its latest batch, of each data
    folder every JVM that wrote into it (read through a temporary database)."""
    runs: list[RunFindings] = []
    with tempfile.TemporaryDirectory(prefix="unclosed-report-") as scratch:
        for n, path in enumerate(paths):
            if path.is_dir():
                with Store(Path(scratch) / f"{n}.db") as store:
                    runs += read_runs(store, [jvm["run_id"] for jvm in import_data_folder(store, path)], str(path),
                                      include_clean)
            else:
                with Store(path, readonly=True) as store:
                    runs += read_runs(store, [run["id"] for run in store.latest_batch()], str(path), include_clean)
    wanted = [f for f in merge_findings(runs) if _asked(f, kinds, families)]
    return FleetReport(runs, wanted, include_clean)


def _asked(finding: Finding, kinds, families) -> bool:
    kind = finding.kind or ""
    return ((not kinds or any(kind == k or kind.endswith("." + k) for k in kinds))
            and (not families or finding.family in families))


def read_folder(folder: Path, scratch: Path, **asked) -> RunReport:
    """The report of a data folder: every JVM that wrote into it, through a database in `scratch`."""
    with Store(scratch / "folder.db") as store:
        import_data_folder(store, folder)
        found = read_report(store, **asked)
    found.db = folder
    return found
