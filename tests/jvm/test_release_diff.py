"""Before and after a release, on real JVMs (every JDK on the machine): release 2.1.8 of a small
service (tests/programs/release_a) leaks at two sites; 2.1.9 (release_b) fixes one, moves the
other some lines down and out of its shaded package (com.acme.shaded.v1.codec -> com.acme.codec),
and adds a new one. `unclosed diff` must say so exactly. The HTML pages are opened in headless
Chromium; their screenshots are left in tests/out/ for a person to look at."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from helpers.chromium import Page
from helpers.jvm import PROGRAMS, RunningJvm, env_without_java_options, jdk_id, machine_jdks
from unclosed import agent_jar, attach_agent

JDKS = machine_jdks()
CLI = str(Path(sys.executable).parent / "unclosed")
OUT = Path(__file__).parents[1] / "out"
MAIN = "com.acme.app.Server"
DEFLATER, INFLATER = 268288, 39936
# release folder, requests served, label, how the agent gets in
RELEASES = [("release_a", 3, "2.1.8", "startup"), ("release_b", 5, "2.1.9", "attach")]
FILES = {"Server": "com/acme/app/Server.java", "Audit": "com/acme/app/Audit.java",
         "SessionCache": "com/acme/app/SessionCache.java",
         "release_a/GzipCodec": "com/acme/shaded/v1/codec/GzipCodec.java",
         "release_b/GzipCodec": "com/acme/codec/GzipCodec.java"}


def line(release: str, source: str, marker: str) -> int:
    """The line of `// site:MARKER` in a source file of a release."""
    path = PROGRAMS / release / FILES.get(f"{release}/{source}", FILES.get(source, ""))
    for number, text in enumerate(path.read_text().splitlines(), start=1):
        if text.rstrip().endswith(f"// site:{marker}"):
            return number
    raise LookupError(f"no '// site:{marker}' in {path}")


def frame(release: str, cls: str, method: str, marker: str) -> str:
    source = cls.rpartition(".")[2]
    return f"{cls}.{method}({source}.java:{line(release, source, marker)})"


def cli(*args, expect: int = 0) -> subprocess.CompletedProcess:
    result = subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, timeout=120)
    assert result.returncode == expect, f"unclosed {' '.join(map(str, args))} exited {result.returncode}: {result.stderr}"
    return result


@pytest.fixture(scope="module", params=JDKS, ids=jdk_id)
def releases(request, tmp_path_factory):
    """Both releases run and recorded into one database: run 1 is 2.1.8, run 2 is 2.1.9."""
    jdk = request.param
    folder = tmp_path_factory.mktemp(f"releases-{jdk_id(jdk)}")
    db = folder / "audit.db"
    for release, requests, label, mode in RELEASES:
        classes = folder / release
        sources = sorted(str(p) for p in (PROGRAMS / release).rglob("*.java"))
        subprocess.run([str(jdk / "bin" / "javac"), "-g", "-d", str(classes), *sources],
                       check=True, capture_output=True, text=True)
        agent_dir = folder / f"agent-{release}"
        options = [f"-javaagent:{agent_jar()}=dir={agent_dir}"] if mode == "startup" else []
        jvm = RunningJvm(jdk, classes, MAIN, java_options=options, env=env_without_java_options())
        try:
            jvm.expect("ready")
            if mode == "attach":
                attach_agent(jvm.pid, {"dir": str(agent_dir)})
            jvm.send(f"serve {requests}")
            cli("record", jvm.pid, "--db", db, "--duration", "1s", "--interval", "0.5s", "--label", label)
        finally:
            exit_code = jvm.finish()
        assert exit_code == 0
    return SimpleNamespace(jdk=jdk, folder=folder, db=db, name=jdk_id(jdk))


def diff_json(*args) -> dict:
    return json.loads(cli("diff", *args, "--format", "json").stdout)


def test_the_diff_says_fixed_changed_and_new_with_evidence(releases):
    result = diff_json(f"{releases.db}:2.1.8", f"{releases.db}:2.1.9")
    assert result["summary"] == {"new": 1, "fixed": 1, "changed": 1, "unchanged": 0}
    assert result["unchanged"] == []
    old_run, new_run = result["runs"]["old"], result["runs"]["new"]
    assert (old_run["name"], old_run["label"], old_run["jvms"][0]["id"], old_run["jvms"][0]["mode"]) == \
        ("2.1.8", "2.1.8", 1, "startup")
    assert (new_run["name"], new_run["label"], new_run["jvms"][0]["id"], new_run["jvms"][0]["mode"]) == \
        ("2.1.9", "2.1.9", 2, "attach")

    # Fixed: the audit's GZIPInputStream, closed in 2.1.9 (where the same line releases all 5).
    [fixed] = result["fixed"]
    audit = frame("release_a", "com.acme.app.Audit", "record", "audit")
    assert (fixed["kind"], fixed["culprit"]) == ("java.util.zip.GZIPInputStream", audit)
    assert {k: fixed["old"][k] for k in ("opened", "released", "leaked", "held", "bytes")} == \
        {"opened": 3, "released": 0, "leaked": 3, "held": 0, "bytes": 3 * INFLATER}
    assert {k: fixed["new"][k] for k in ("opened", "released", "leaked", "held", "bytes")} == \
        {"opened": 5, "released": 5, "leaked": 0, "held": 0, "bytes": 0}
    assert fixed["match"]["by"] == "key"
    assert fixed["signature"] == "GZIPInputStream@Audit.record<Server.handle<Server.serve"

    # Changed: the codec's GZIPOutputStream, moved down and unshaded (so no key matches: its
    # simple class and method do), leaking 5 where it leaked 3.
    [changed] = result["changed"]
    old_culprit = frame("release_a", "com.acme.shaded.v1.codec.GzipCodec", "compress", "compress")
    new_culprit = frame("release_b", "com.acme.codec.GzipCodec", "compress", "compress")
    assert line("release_a", "GzipCodec", "compress") != line("release_b", "GzipCodec", "compress")
    assert (changed["kind"], changed["culprit"]) == ("java.util.zip.GZIPOutputStream", new_culprit)
    assert (changed["old"]["culprit"], changed["old"]["leaked"], changed["old"]["bytes"]) == (old_culprit, 3, 3 * DEFLATER)
    assert (changed["new"]["culprit"], changed["new"]["leaked"], changed["new"]["bytes"]) == (new_culprit, 5, 5 * DEFLATER)
    assert changed["ratio"] == 1.667
    match = changed["match"]
    assert (match["by"], match["score"]) == ("relocated", 1.0)
    assert match["culprit"] == {"old": old_culprit, "new": new_culprit}
    assert match["signature"]["old"] == match["signature"]["new"] == "GZIPOutputStream@GzipCodec.compress"
    assert match["frames"] == [{"as": "GzipCodec.compress", "old": old_culprit, "new": new_culprit, "same": True}]

    # New: the session cache's Deflater, never seen before.
    [new] = result["new"]
    assert (new["kind"], new["culprit"]) == ("java.util.zip.Deflater",
                                             frame("release_b", "com.acme.app.SessionCache", "remember", "session"))
    assert {k: new["new"][k] for k in ("opened", "leaked", "held", "bytes_leaked")} == \
        {"opened": 5, "leaked": 5, "held": 0, "bytes_leaked": 5 * DEFLATER}
    assert (new["old"], new["match"]) == (None, None)


def test_the_text_diff_and_the_release_gate(releases):
    db = releases.db
    text = cli("diff", f"{db}:2.1.8", ":2.1.9").stdout.splitlines()
    assert text[0] == "unclosed diff: 2.1.8 -> 2.1.9"
    assert text[1].startswith("  2.1.8: run 1 of audit.db, pid ") and text[2].startswith("  2.1.9: run 2 of audit.db, pid ")
    assert text[3] == "new 1, fixed 1, changed 1, unchanged 0"
    assert "CHANGED java.util.zip.GZIPOutputStream: leaked 3 -> 5, held 0 -> 0, 786 KiB -> 1.3 MiB (x1.667)" in text
    assert f"  culprit: {frame('release_a', 'com.acme.shaded.v1.codec.GzipCodec', 'compress', 'compress')}" in text
    assert f"       now: {frame('release_b', 'com.acme.codec.GzipCodec', 'compress', 'compress')}" in text
    assert "  matched by culprit method, package ignored: GZIPOutputStream@GzipCodec.compress" in text
    assert any(l.startswith("NEW java.util.zip.Deflater: leaked 5 (1.3 MiB)") for l in text)
    assert any(l.startswith("FIXED java.util.zip.GZIPInputStream: leaked 3 (117 KiB)") and
               l.endswith("in 2.1.9 all 5 opened were released") for l in text)

    gate = cli("diff", f"{db}:2.1.8", f"{db}:2.1.9", "--fail-on-new", expect=4)
    assert "new 1, fixed 1, changed 1, unchanged 0" in gate.stdout
    same = cli("diff", f"{db}:2.1.9", f"{db}:2.1.9", "--fail-on-new")
    assert "new 0, fixed 0, changed 0, unchanged 2" in same.stdout
    itself = diff_json(f"{db}:2.1.8", ":2.1.8")
    assert itself["summary"] == {"new": 0, "fixed": 0, "changed": 0, "unchanged": 2}
    assert all(i["old"]["culprits"] == i["new"]["culprits"] and i["match"]["by"] == "key" for i in itself["unchanged"])


def test_runs_are_named_by_id_label_or_database(releases, tmp_path):
    db = releases.db
    by_label = diff_json(f"{db}:2.1.8", f"{db}:2.1.9")
    by_id = diff_json(f"{db}:1", f"{db}:2")
    assert by_id["summary"] == by_label["summary"]
    # Two databases, the latest run of each by default.
    old_db, new_db = tmp_path / "2.1.8.db", tmp_path / "2.1.9.db"
    shutil.copy(db, old_db)
    shutil.copy(db, new_db)
    two = diff_json(f"{old_db}:1", new_db)
    assert two["summary"] == by_label["summary"]
    assert (two["runs"]["old"]["sources"], two["runs"]["new"]["sources"]) == ([str(old_db)], [str(new_db)])
    assert diff_json(old_db, new_db)["summary"] == {"new": 0, "fixed": 0, "changed": 0, "unchanged": 2}


def test_figures_per_request_make_the_moved_site_unchanged(releases):
    # 2.1.8 served 3 requests and 2.1.9 5: per request, the codec leaks one stream in both.
    result = diff_json(f"{releases.db}:2.1.8", ":2.1.9", "--per", "2.1.8=3", "--per", "2.1.9=5", "--unit", "request")
    assert result["summary"] == {"new": 1, "fixed": 1, "changed": 0, "unchanged": 1}
    [same] = result["unchanged"]
    assert same["old"]["per_unit"] == {"opened": 1.0, "leaked": 1.0, "held": 0.0, "bytes": DEFLATER}
    assert same["new"]["per_unit"] == {"opened": 1.0, "leaked": 1.0, "held": 0.0, "bytes": DEFLATER}
    assert result["per"] == {"unit": "request", "old": 3, "new": 5}


def test_collapsed_stacks_of_release_a(releases):
    lines = cli("report", releases.db, "--run", "1", "--format", "collapsed").stdout.splitlines()
    app = "release_a"
    root = ";".join([frame(app, MAIN, "main", "call_serve"), frame(app, MAIN, "serve", "call_handle")])
    codec = ";".join([root, frame(app, MAIN, "handle", "call_compress"),
                      frame(app, "com.acme.shaded.v1.codec.GzipCodec", "compress", "compress")])
    audit = ";".join([root, frame(app, MAIN, "handle", "call_audit"), frame(app, "com.acme.app.Audit", "record", "audit")])
    jdk_frames = r"(;java\.util\.zip\.\w+\.[\w<>$]+\(\w+\.java:\d+\))+"  # they vary with the JDK
    assert len(lines) == 2 and lines == sorted(lines)
    assert re.fullmatch(re.escape(codec) + jdk_frames + f" {3 * DEFLATER}", lines[0]), lines[0]
    assert re.fullmatch(re.escape(audit) + jdk_frames + f" {3 * INFLATER}", lines[1]), lines[1]
    assert re.search(r";java\.util\.zip\.Deflater\.<init>\(Deflater\.java:\d+\) \d+$", lines[0])
    assert re.search(r";java\.util\.zip\.Inflater\.<init>\(Inflater\.java:\d+\) \d+$", lines[1])
    # The same stacks, counting objects.
    leaked = cli("report", releases.db, "--run", "1", "--format", "collapsed", "--value", "leaked").stdout.splitlines()
    assert [l.rsplit(" ", 1) for l in leaked] == [[l.rsplit(" ", 1)[0], "3"] for l in lines]
    assert cli("report", releases.db, "--run", "1", "--format", "collapsed", "--value", "held").stdout == ""


def test_the_html_report_renders_in_chromium(releases):
    OUT.mkdir(exist_ok=True)
    page_file = OUT / f"report-{releases.name}.html"
    cli("report", releases.db, "--format", "html", "-o", page_file)
    html = page_file.read_text()
    assert not re.search(r"https?:|//[a-z]|<link|\bsrc=|@import|url\(", html, re.I), "the page must not reach out"
    assert len(html) < 60_000
    top = json.loads(cli("report", releases.db, "--format", "json").stdout)["sites"][0]
    with Page() as page:
        page.open(page_file)
        assert page.problems() == []
        assert page.requests() == [page_file.absolute().as_uri()]
        text = page.evaluate("document.body.innerText")
        assert top["culprit"] in text
        assert text.startswith("2.1.9 unclosed report")
        assert "2 findings (2 sites): leaked 10 (2.6 MiB), held 0 (0 B) of 10 opened" in text
        # Each stack expands; the first is open.
        assert page.evaluate("[...document.querySelectorAll('details.site')].map(d => d.open)") == [True, False]
        page.evaluate("document.querySelectorAll('details.site summary')[1].click()")
        assert page.evaluate("document.querySelectorAll('details.site')[1].open") is True
        # The flame graph: the root spans the width; a click on a frame zooms to it.
        boxes = page.evaluate("[...document.querySelectorAll('svg.flame g.box')].map(g => g.getAttribute('data-label'))")
        assert boxes[0] == "all: 2.6 MiB" and "SessionCache.remember:8" in boxes
        width = "document.querySelector('svg.flame g.box[data-label=\"SessionCache.remember:8\"] rect').getAttribute('width')"
        assert page.evaluate(width) == "50%"
        page.evaluate("document.querySelector('svg.flame g.box[data-label=\"SessionCache.remember:8\"]')"
                      ".dispatchEvent(new MouseEvent('click'))")
        assert page.evaluate(width) == "100%"
        page.evaluate("document.querySelector('svg.flame g.box[data-label=\"SessionCache.remember:8\"]')"
                      ".dispatchEvent(new MouseEvent('click'))")
        assert page.evaluate(width) == "50%"
        assert page.evaluate("document.querySelectorAll('.chart polyline').length") >= 2
        assert page.problems() == []
        shot = page.screenshot(OUT / f"report-{releases.name}.png")
    assert shot.stat().st_size > 20_000


def test_the_html_diff_renders_in_chromium(releases):
    OUT.mkdir(exist_ok=True)
    page_file = OUT / f"diff-{releases.name}.html"
    cli("diff", f"{releases.db}:2.1.8", ":2.1.9", "--format", "html", "-o", page_file)
    html = page_file.read_text()
    assert not re.search(r"https?:|//[a-z]|<link|\bsrc=|@import|url\(", html, re.I)
    with Page() as page:
        page.open(page_file)
        assert page.problems() == []
        assert page.requests() == [page_file.absolute().as_uri()]
        text = page.evaluate("document.body.innerText")
        assert text.startswith("2.1.8 → 2.1.9 unclosed diff")
        for chip in ("new 1", "fixed 1", "changed 1", "unchanged 0"):
            assert chip in text
        assert frame("release_a", "com.acme.shaded.v1.codec.GzipCodec", "compress", "compress") in text
        assert frame("release_b", "com.acme.codec.GzipCodec", "compress", "compress") in text
        assert "2.1.9: all 5 opened were released" in text
        # Both runs' flame graphs, side by side.
        assert page.evaluate("[...document.querySelectorAll('svg.flame')].map(s => s.id)") == ["flame-old", "flame-new"]
        tops = page.evaluate("[...document.querySelectorAll('svg.flame')].map(s => Math.round(s.getBoundingClientRect().top))")
        assert tops[0] == tops[1]
        shot = page.screenshot(OUT / f"diff-{releases.name}.png")
    assert shot.stat().st_size > 20_000
