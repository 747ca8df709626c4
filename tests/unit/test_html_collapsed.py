"""`report --format collapsed` and `--format html` on runs written through the store from
hand-made drain files (real SQLite), where every figure is known; the pages of real JVMs are
opened in Chromium by tests/test_release_diff.py."""
from __future__ import annotations

import io

import pytest

from helpers.chromium import Page
from helpers.cli import run_cli
from unit.test_diff import CALLERS, GZ, INFLATER, DEFLATER, record, site, stack
from unclosed import Store, write_report
from unclosed.renderers.html import flame_graph

HOSTILE = "com.evil.X</script><script>alert(1)</script>.run"


@pytest.fixture
def db(tmp_path):
    with Store(tmp_path / "audit.db") as store:
        record(store, tmp_path, "2.1.8", [
            site(1, GZ, stack("com.acme.Codec", "compress", 12, *CALLERS), 4, 0, 3, 1),
            site(2, "java.util.zip.Inflater", stack("com.acme.Reader", "read", 7, *CALLERS[1:]), 6, 0, 0, 6, INFLATER),
            site(3, GZ, stack("com.acme.Codec", "clean", 40, *CALLERS), 9, 9, 0, 0),
        ], drains=4)
    return tmp_path / "audit.db"


def test_collapsed_is_one_folded_stack_per_site_root_first(db):
    out = run_cli("report", db, "--format", "collapsed")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "com.acme.app.Server.main(Server.java:18);com.acme.app.Server.serve(Server.java:26);"
        "com.acme.Reader.read(Reader.java:7);java.util.zip.GZIPOutputStream.<init>(GZIPOutputStream.java:93);"
        f"java.util.zip.Deflater.<init>(Deflater.java:202) {6 * INFLATER}",
        "com.acme.app.Server.main(Server.java:18);com.acme.app.Server.serve(Server.java:26);"
        "com.acme.app.Server.handle(Server.java:30);com.acme.Codec.compress(Codec.java:12);"
        "java.util.zip.GZIPOutputStream.<init>(GZIPOutputStream.java:93);"
        f"java.util.zip.Deflater.<init>(Deflater.java:202) {4 * DEFLATER}",
    ]
    values = {}
    for value in ("bytes_leaked", "bytes_held", "leaked", "held", "unreleased", "opened"):
        lines = run_cli("report", db, "--format", "collapsed", "--value", value, "--all").stdout.splitlines()
        values[value] = [int(line.rsplit(" ", 1)[1]) for line in lines]
    assert values == {"bytes_leaked": [3 * DEFLATER], "bytes_held": [6 * INFLATER, DEFLATER],
                      "leaked": [3], "held": [6, 1], "unreleased": [6, 4], "opened": [6, 9, 4]}
    written = db.parent / "stacks.folded"
    assert run_cli("report", db, "--format", "collapsed", "-o", written).stdout == ""
    assert written.read_text() == out.stdout


def test_the_timeline_follows_each_kind_drain_by_drain(db):
    with Store(db) as store:
        data = store.timeline(store.run()["id"])
    assert data["t"] == [0, 1, 2, 3]
    # record() grows every counter linearly over the drains: value * drain // 4.
    assert data["kinds"] == {
        GZ: {"held": [0, 0, 0, 1], "bytes_held": [DEFLATER * d // 4 for d in (1, 2, 3, 4)], "leaked": [0, 1, 2, 3]},
        "java.util.zip.Inflater": {"held": [1, 3, 4, 6], "bytes_held": [6 * INFLATER * d // 4 for d in (1, 2, 3, 4)],
                                   "leaked": [0, 0, 0, 0]},
    }


def test_the_flame_graph_boxes_are_as_wide_as_their_bytes(db):
    with Store(db) as store:
        graph = flame_graph(store.site_findings(), "r")
    total = 4 * DEFLATER + 6 * INFLATER
    assert graph["total"] == total
    boxes = {(b["label"], b["y"] // graph["row"]): b for b in graph["boxes"]}
    assert boxes[("all: 1.3 MiB", 0)]["w"] == 1.0
    assert boxes[("Server.main:18", 1)]["w"] == 1.0
    assert boxes[("Codec.compress:12", 4)] == {**boxes[("Codec.compress:12", 4)], "kind": "culprit",
                                                 "x": 0.0, "w": round(4 * DEFLATER / total, 6)}
    assert boxes[("Reader.read:7", 3)]["x"] == round(4 * DEFLATER / total, 6)
    assert boxes[("Deflater.<init>:202", 6)]["kind"] == "jdk"
    assert "leaked 786 KiB, held 262 KiB" in boxes[("Codec.compress:12", 4)]["title"]


def test_the_html_report_is_one_small_offline_file_that_escapes_what_it_shows(tmp_path):
    with Store(tmp_path / "audit.db") as store:
        frames = ["java.util.zip.Inflater.<init>(Inflater.java:1)", HOSTILE + "(X.java:1)"]
        record(store, tmp_path, "<b>v2</b>", [site(1, "java.util.zip.Inflater", frames, 2, 0, 2, 0, INFLATER)])
        out = io.StringIO()
        write_report(store, out, "html")
    page = out.getvalue()
    assert "<script>alert(1)" not in page and "&lt;/script&gt;&lt;script&gt;alert(1)" in page
    assert "<b>v2</b>" not in page and "&lt;b&gt;v2&lt;/b&gt;" in page
    assert page.count("<script>") == 1 and page.count("<style>") == 1
    assert "http" not in page and " src=" not in page and "<link" not in page
    path = tmp_path / "report.html"
    path.write_text(page)
    with Page() as browser:
        browser.open(path)
        assert browser.problems() == []
        assert browser.evaluate("typeof alert === 'function' && document.title") == "unclosed: <b>v2</b>"
        assert HOSTILE + "(X.java:1)" in browser.evaluate("document.body.innerText")
        assert browser.requests() == [path.as_uri()]


def test_an_empty_run_still_makes_a_page(tmp_path):
    with Store(tmp_path / "audit.db") as store:
        record(store, tmp_path, None, [site(1, GZ, stack("com.acme.Codec", "clean", 4), 3, 3, 0, 0)])
    result = run_cli("report", tmp_path / "audit.db", "--format", "html")
    assert result.returncode == 0, result.stderr
    assert "Nothing left unreleased." in result.stdout and "Nothing leaked or held: no flame graph." in result.stdout
    assert "<h1>run 1 <small>" in result.stdout


def test_a_page_lists_the_worst_sites_and_counts_the_rest(db, monkeypatch):
    import unclosed.renderers.html
    monkeypatch.setattr(unclosed.renderers.html, "MAX_SITES", 1)
    with Store(db) as store:
        out = io.StringIO()
        write_report(store, out, "html")
    page = out.getvalue()
    assert page.count('<details class="site"') == 1
    assert "2 sites: leaked" in page and "and 1 more sites, not listed here" in page
