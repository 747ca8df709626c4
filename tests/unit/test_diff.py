"""`unclosed diff` and the signature rule, on databases filled through the store with
hand-written drain files (real SQLite); tests/test_release_diff.py runs real JVMs."""
from __future__ import annotations

import io
import json
import shutil

import pytest

from helpers.cli import run_cli
from helpers.drains import write_drain
from unclosed import Store
from unclosed.diff import NEW_SITES_FOUND, RunRef, match_sites, read_diff
from unclosed.errors import UnclosedError
from unclosed.renderers.diff import write_text
from unclosed.signature import reduce_frame, signature, similarity

T0 = 1_700_000_000_000
DEFLATER, INFLATER = 268288, 39936
JDK_TOP = ["java.util.zip.Deflater.<init>(Deflater.java:202)",
           "java.util.zip.GZIPOutputStream.<init>(GZIPOutputStream.java:93)"]


def site(sid, kind, frames, opened, released, leaked, held, size=DEFLATER):
    """A creation site: (agent id, kind, frames top first, counts); the culprit is the first
    frame outside java.*."""
    culprit = next((f for f in frames if not f.startswith("java.")), "")
    return {"id": sid, "kind": kind, "frames": frames, "culprit": culprit,
            "counts": (opened, released, leaked, held, held * size, leaked * size, T0 + 500 if held else 0)}


def record(store, tmp_path, label, sites, drains=1):
    """A run of `sites`; with drains > 1, the counts grow linearly over that many drains."""
    run = store.begin_run({"mode": "startup", "tracking_since_ms": T0, "main_class": "com.acme.Main",
                           "java_version": "17.0.15"}, 4242, label)
    for d in range(1, drains + 1):
        records = []
        if d == 1:
            for s in sites:
                records.append(("S", s["id"], "c", s["kind"], "zlib", s["culprit"], ""))
                records += [("F", s["id"], i, frame) for i, frame in enumerate(s["frames"])]
        for s in sites:
            counts = [c * d // drains for c in s["counts"][:6]] + [s["counts"][6], 0, 0, 0]
            records.append(("C", s["id"], *counts))
        store.ingest_drain(run, write_drain(tmp_path / "drain.tsv", records, seq=d), time_ms=T0 + 1000 * d)
    store.end_run(run, "complete")
    return run


def stack(culprit_class, method, line, *callers):
    """JDK frames, then the culprit, then callers as (class, method, line)."""
    frames = JDK_TOP + [f"{culprit_class}.{method}({culprit_class.rpartition('.')[2]}.java:{line})"]
    frames += [f"{c}.{m}({c.rpartition('.')[2]}.java:{n})" for c, m, n in callers]
    return frames


CALLERS = [("com.acme.app.Server", "handle", 30), ("com.acme.app.Server", "serve", 26),
           ("com.acme.app.Server", "main", 18)]
MOVED_CALLERS = [("com.acme.app.Server", "handle", 41), ("com.acme.app.Server", "serve", 35),
                 ("com.acme.app.Server", "main", 20)]
GZ = "java.util.zip.GZIPOutputStream"


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "audit.db") as s:
        yield s


def diff(store, old="1", new="2", **options):
    return read_diff(store, RunRef(store.path, old), store, RunRef(store.path, new), **options).document


# -- the signature --------------------------------------------------------------------------

@pytest.mark.parametrize("frame, reduced", [
    ("com.acme.shaded.v1.codec.GzipCodec.compress(GzipCodec.java:12)", "GzipCodec.compress"),
    ("com.acme.codec.GzipCodec.compress(GzipCodec.java:19)", "GzipCodec.compress"),
    ("com.acme.Server$Handler.run(Server.java:80)", "Server$Handler.run"),
    ("com.acme.Server$2.run(Server.java:80)", "Server$*.run"),
    ("com.acme.Server.lambda$start$3(Server.java:44)", "Server.lambda$start"),
    ("com.acme.Server$$Lambda$41/0x0000000800c0b2d8.run(Unknown Source)", "Server$$Lambda.run"),
    ("java.util.zip.Deflater.<init>(Deflater.java:202)", "Deflater.<init>"),
    ("Main.main(Main.java:3)", "Main.main"),
    ("com.acme.Native.call(Native Method)", "Native.call"),
])
def test_a_frame_reduces_to_what_survives_a_release(frame, reduced):
    assert reduce_frame(frame) == reduced


def test_the_signature_is_the_kind_and_the_chain_from_the_culprit_down():
    old = site(1, GZ, stack("com.acme.shaded.v1.codec.GzipCodec", "compress", 12, *CALLERS), 3, 0, 3, 0)
    new = site(1, GZ, stack("com.acme.codec.GzipCodec", "compress", 19, *MOVED_CALLERS), 5, 0, 5, 0)
    assert signature(old) == signature(new) == "GZIPOutputStream@GzipCodec.compress<Server.handle<Server.serve"
    assert signature(old, 1) == "GZIPOutputStream@GzipCodec.compress"
    assert signature(old, 9) == "GZIPOutputStream@GzipCodec.compress<Server.handle<Server.serve<Server.main"
    # Another kind at the same place is another site.
    assert signature(dict(old, kind="java.util.zip.Deflater")) != signature(old)


def test_similarity_scores_kind_culprit_and_callers():
    old = site(1, GZ, stack("com.acme.Codec", "compress", 12, *CALLERS), 3, 0, 3, 0)
    renamed_method = site(1, GZ, stack("com.acme.Codec", "gzip", 12, *CALLERS), 3, 0, 3, 0)
    renamed_class = site(1, GZ, stack("com.acme.GzipCodec", "compress", 12, *CALLERS), 3, 0, 3, 0)
    other_kind = site(1, "java.util.zip.Deflater", stack("com.acme.Codec", "compress", 12, *CALLERS), 3, 0, 3, 0)
    elsewhere = site(1, GZ, stack("com.acme.Cache", "put", 7, ("com.acme.Cache", "load", 3)), 3, 0, 3, 0)
    assert similarity(old, old) == 1.0
    assert similarity(old, renamed_method) == 0.8  # kind 0.2 + same class 0.2 + callers 0.4
    assert similarity(old, renamed_class) == 0.85  # kind 0.2 + same method 0.25 + callers 0.4
    assert similarity(old, other_kind) == 0.9  # same family 0.1 + culprit 0.4 + callers 0.4
    assert similarity(old, elsewhere) == 0.2  # only the kind
    assert similarity(old, dict(other_kind, family="direct")) == 0.0


# -- matching and sorting -------------------------------------------------------------------

def test_a_release_that_fixes_moves_renames_and_adds(store, tmp_path):
    record(store, tmp_path, "2.1.8", [
        site(1, GZ, stack("com.acme.shaded.v1.codec.GzipCodec", "compress", 10, *CALLERS), 3, 0, 3, 0),
        site(2, "java.util.zip.GZIPInputStream", stack("com.acme.app.Audit", "record", 9, *CALLERS), 3, 0, 3, 0, INFLATER),
    ])
    record(store, tmp_path, "2.1.9", [
        site(7, "java.util.zip.Deflater", stack("com.acme.app.SessionCache", "remember", 8, *MOVED_CALLERS), 5, 0, 5, 0),
        site(8, GZ, stack("com.acme.codec.GzipCodec", "compress", 17, *MOVED_CALLERS), 5, 0, 4, 1),
        site(9, "java.util.zip.GZIPInputStream", stack("com.acme.app.Audit", "record", 9, *MOVED_CALLERS), 5, 5, 0, 0, INFLATER),
    ])
    result = diff(store, "2.1.8", "2.1.9")
    assert result["summary"] == {"new": 1, "fixed": 1, "changed": 1, "unchanged": 0}
    assert [result["runs"][side]["name"] for side in ("old", "new")] == ["2.1.8", "2.1.9"]

    changed = result["changed"][0]
    assert (changed["site_id"], changed["culprit"]) == (8, "com.acme.codec.GzipCodec.compress(GzipCodec.java:17)")
    assert changed["old"] == {"run": 1, "site_id": 1, "culprit": "com.acme.shaded.v1.codec.GzipCodec.compress(GzipCodec.java:10)",
                              "opened": 3, "released": 0, "leaked": 3, "held": 0, "bytes_leaked": 3 * DEFLATER,
                              "bytes_held": 0, "bytes": 3 * DEFLATER, "per_unit": None}
    assert (changed["new"]["leaked"], changed["new"]["held"], changed["new"]["bytes"]) == (4, 1, 5 * DEFLATER)
    assert changed["ratio"] == 1.667
    match = changed["match"]
    assert (match["by"], match["score"]) == ("signature", 1.0)
    assert match["culprit"] == {"old": "com.acme.shaded.v1.codec.GzipCodec.compress(GzipCodec.java:10)",
                                "new": "com.acme.codec.GzipCodec.compress(GzipCodec.java:17)"}
    assert [(f["as"], f["same"]) for f in match["frames"]] == [
        ("GzipCodec.compress", True), ("Server.handle", True), ("Server.serve", True)]
    assert match["frames"][1] == {"as": "Server.handle", "old": "com.acme.app.Server.handle(Server.java:30)",
                                  "new": "com.acme.app.Server.handle(Server.java:41)", "same": True}

    fixed = result["fixed"][0]
    assert (fixed["run"], fixed["site_id"], fixed["kind"]) == (1, 2, "java.util.zip.GZIPInputStream")
    assert (fixed["new"]["opened"], fixed["new"]["released"], fixed["new"]["leaked"]) == (5, 5, 0)
    new = result["new"][0]
    assert (new["site_id"], new["old"], new["match"]) == (7, None, None)
    assert new["signature"] == "Deflater@SessionCache.remember<Server.handle<Server.serve"
    assert len(new["signature_id"]) == 12

    # Every item is a report site plus its figures on both sides and the evidence.
    report_keys = set(store.site_findings(2)[0])  # as `report --format json` lists a site
    assert {"run", "site_id", "kind", "family", "opened", "released", "leaked", "held", "bytes_leaked",
            "bytes_held", "oldest_held_age_s", "culprit", "frames"} <= report_keys
    for category in ("new", "fixed"):
        assert set(result[category][0]) == report_keys | {"signature", "signature_id", "old", "new", "match"}
    assert set(changed) == report_keys | {"signature", "signature_id", "old", "new", "match", "ratio"}
    assert set(result) == {"runs", "per", "rule", "summary", "new", "fixed", "changed", "unchanged"}

    text = io.StringIO()
    write_text(result, text)
    lines = text.getvalue().splitlines()
    assert lines[0] == "unclosed diff: 2.1.8 -> 2.1.9"
    assert lines[3] == "new 1, fixed 1, changed 1, unchanged 0"
    assert "  matched by signature GZIPOutputStream@GzipCodec.compress<Server.handle<Server.serve:" in lines
    assert ("    = com.acme.shaded.v1.codec.GzipCodec.compress(GzipCodec.java:10)  ->  "
            "com.acme.codec.GzipCodec.compress(GzipCodec.java:17)") in lines


def test_a_renamed_method_matches_by_similarity_with_its_evidence(store, tmp_path):
    record(store, tmp_path, "a", [site(1, GZ, stack("com.acme.Codec", "compress", 12, *CALLERS), 4, 0, 4, 0)])
    record(store, tmp_path, "b", [site(1, GZ, stack("com.acme.Codec", "gzip", 15, *MOVED_CALLERS), 4, 0, 4, 0)])
    result = diff(store)
    assert result["summary"] == {"new": 0, "fixed": 0, "changed": 0, "unchanged": 1}
    match = result["unchanged"][0]["match"]
    assert (match["by"], match["score"]) == ("similarity", 0.8)
    assert match["signature"] == {"old": "GZIPOutputStream@Codec.compress<Server.handle<Server.serve",
                                  "new": "GZIPOutputStream@Codec.gzip<Server.handle<Server.serve"}
    assert [(f["as"], f["same"]) for f in match["frames"]] == [
        (None, False), ("Server.handle", True), ("Server.serve", True), ("Server.main", True)]
    assert match["frames"][0] == {"as": None, "old": "com.acme.Codec.compress(Codec.java:12)",
                                  "new": "com.acme.Codec.gzip(Codec.java:15)", "same": False}
    # Asked for more, the same pair is a fixed site and a new one.
    stricter = diff(store, min_score=0.85)
    assert stricter["summary"] == {"new": 1, "fixed": 1, "changed": 0, "unchanged": 0}


def test_sites_unlike_each_other_are_fixed_and_new(store, tmp_path):
    record(store, tmp_path, "a", [site(1, GZ, stack("com.acme.Codec", "compress", 12, *CALLERS), 4, 0, 4, 0)])
    record(store, tmp_path, "b", [site(1, "java.util.zip.Inflater",
                                       stack("com.acme.Cache", "load", 3, ("com.acme.Cache", "warm", 9)), 2, 0, 2, 0)])
    result = diff(store)
    assert result["summary"] == {"new": 1, "fixed": 1, "changed": 0, "unchanged": 0}
    assert result["fixed"][0]["new"] is None and result["new"][0]["old"] is None


def test_two_sites_of_one_method_pair_in_line_order(store, tmp_path):
    # Same signature twice (two lines of one method): the first with the first, though both moved.
    record(store, tmp_path, "a", [site(1, GZ, stack("com.acme.Codec", "compress", 12, *CALLERS), 2, 0, 2, 0),
                                  site(2, GZ, stack("com.acme.Codec", "compress", 20, *CALLERS), 6, 0, 6, 0)])
    record(store, tmp_path, "b", [site(5, GZ, stack("com.acme.Codec", "compress", 31, *CALLERS), 6, 0, 6, 0),
                                  site(4, GZ, stack("com.acme.Codec", "compress", 25, *CALLERS), 2, 0, 2, 0)])
    result = diff(store)
    assert result["summary"]["unchanged"] == 2
    assert sorted((i["old"]["site_id"], i["new"]["site_id"]) for i in result["unchanged"]) == [(1, 4), (2, 5)]


@pytest.mark.parametrize("leaked_after, category", [(10, "unchanged"), (11, "unchanged"), (9, "unchanged"),
                                                    (12, "changed"), (8, "changed")])
def test_still_leaking_sites_change_beyond_the_tolerance(store, tmp_path, leaked_after, category):
    frames = stack("com.acme.Codec", "compress", 12, *CALLERS)
    record(store, tmp_path, "a", [site(1, GZ, frames, 10, 0, 10, 0)])
    record(store, tmp_path, "b", [site(1, GZ, frames, leaked_after, 0, leaked_after, 0)])
    assert diff(store)["summary"][category] == 1
    assert diff(store, tolerance=0.5)["summary"]["unchanged"] == 1


def test_figures_per_workload_unit(store, tmp_path):
    frames = stack("com.acme.Codec", "compress", 12, *CALLERS)
    record(store, tmp_path, "2.1.8", [site(1, GZ, frames, 30, 0, 30, 0)])
    record(store, tmp_path, "2.1.9", [site(1, GZ, frames, 50, 0, 40, 10)])
    assert diff(store)["summary"]["changed"] == 1
    for per in (["2.1.8=3000", "2.1.9=5000"], ["old=3000", "new=5000"]):
        result = diff(store, per=per, unit="request")
        assert result["summary"]["unchanged"] == 1, per
        assert result["per"] == {"unit": "request", "old": 3000, "new": 5000}
        item = result["unchanged"][0]
        assert item["old"]["per_unit"] == {"opened": 0.01, "leaked": 0.01, "held": 0.0, "bytes": round(30 * DEFLATER / 3000, 6)}
        assert item["new"]["per_unit"] == {"opened": 0.01, "leaked": 0.008, "held": 0.002, "bytes": round(50 * DEFLATER / 5000, 6)}
        assert item["ratio"] == 1.0
    assert diff(store, per=["1000"])["summary"]["changed"] == 1  # the same units on both sides
    with pytest.raises(UnclosedError, match="no units for the new run"):
        diff(store, per=["old=10"])
    with pytest.raises(UnclosedError, match="neither run is labelled '2.2'"):
        diff(store, per=["2.2=10"])
    with pytest.raises(UnclosedError, match="positive number"):
        diff(store, per=["-5"])


def test_a_run_against_itself_has_nothing_new_or_fixed(store, tmp_path):
    record(store, tmp_path, "a", [site(1, GZ, stack("com.acme.Codec", "compress", 12, *CALLERS), 4, 0, 4, 0),
                                  site(2, GZ, stack("com.acme.Codec", "other", 12, *CALLERS), 4, 4, 0, 0)])
    result = diff(store, "1", "1")
    assert result["summary"] == {"new": 0, "fixed": 0, "changed": 0, "unchanged": 1}


def test_match_sites_pairs_each_site_once():
    frames = stack("com.acme.Codec", "compress", 12, *CALLERS)
    sites = [dict(site(i, GZ, frames, 1, 0, 1, 0), run=1, site_id=i, family="zlib", opened=1, released=0, leaked=1,
                  held=0, bytes_leaked=1, bytes_held=0) for i in range(3)]
    pairs = match_sites(sites[:1], sites)
    assert [(o and o["site_id"], n and n["site_id"], how) for o, n, how, _ in pairs] == [
        (0, 0, "signature"), (None, 1, None), (None, 2, None)]


# -- naming runs ----------------------------------------------------------------------------

def test_runs_are_named_by_database_id_and_label(store, tmp_path):
    record(store, tmp_path, "2.1.8", [])
    record(store, tmp_path, "17", [])
    record(store, tmp_path, "2.1.8", [])
    db = str(store.path)
    assert RunRef.parse(db).resolve(store)["id"] == 3
    assert RunRef.parse(f"{db}:1").resolve(store)["id"] == 1
    assert RunRef.parse(f"{db}:2.1.8").resolve(store)["id"] == 3  # the latest with that label
    assert RunRef.parse(f"{db}:label=17").resolve(store)["id"] == 2
    assert RunRef.parse(f"{db}:17").resolve(store)["id"] == 2  # no run 17: the label
    assert RunRef.parse(":2", other_db=store.path) == RunRef(store.path, "2")
    with pytest.raises(UnclosedError, match=r"has no run labelled '2.2' \(its runs: 1 \[2.1.8\], 2 \[17\], 3 \[2.1.8\]\)"):
        RunRef.parse(f"{db}:2.2").resolve(store)
    with pytest.raises(UnclosedError, match="no database"):
        RunRef.parse(str(tmp_path / "missing.db:1"))
    with pytest.raises(UnclosedError, match="names no database"):
        RunRef.parse(":1")
    colon = tmp_path / "a:b.db"
    shutil.copy(store.path, colon)
    assert RunRef.parse(str(colon)) == RunRef(colon)
    assert RunRef.parse(f"{colon}:2.1.8") == RunRef(colon, "2.1.8")


# -- the command ----------------------------------------------------------------------------

def test_the_command_gates_on_new_sites_and_writes_json(store, tmp_path):
    record(store, tmp_path, "2.1.8", [site(1, GZ, stack("com.acme.Codec", "compress", 12, *CALLERS), 4, 0, 4, 0)])
    record(store, tmp_path, "2.1.9", [site(1, GZ, stack("com.acme.Codec", "compress", 12, *CALLERS), 4, 0, 4, 0),
                                      site(2, GZ, stack("com.acme.Cache", "put", 3, *CALLERS), 1, 0, 1, 0)])
    db = store.path
    gate = run_cli("diff", f"{db}:2.1.8", ":2.1.9", "--fail-on-new")
    assert gate.returncode == NEW_SITES_FOUND == 4, gate.stderr
    assert "new 1, fixed 0, changed 0, unchanged 1" in gate.stdout
    assert run_cli("diff", f"{db}:2.1.8", ":2.1.9").returncode == 0
    assert run_cli("diff", f"{db}:2.1.9", f"{db}:2.1.8", "--fail-on-new").returncode == 0  # only fixed
    out = tmp_path / "diff.json"
    assert run_cli("diff", f"{db}:1", f"{db}:2", "--format", "json", "-o", out).returncode == 0
    assert json.loads(out.read_text())["summary"] == {"new": 1, "fixed": 0, "changed": 0, "unchanged": 1}
    missing = run_cli("diff", tmp_path / "nope.db", db)
    assert missing.returncode == 2 and "no database" in missing.stderr
    unknown = run_cli("diff", f"{db}:3.0", db)
    assert unknown.returncode == 1 and "has no run labelled '3.0'" in unknown.stderr
    assert "Examples:" in run_cli("diff", "--help").stdout
