"""`unclosed report` over several sources at once (a fleet: a database or data folder per host),
and over a data folder: findings merged by key, those seen in the most sources first."""
from __future__ import annotations

import json

from helpers.cli import run_cli
from helpers.jvm_data import jvm_data, three_hosts


def test_a_fleet_report_over_three_databases_ranks_what_all_three_saw_first(tmp_path):
    result = run_cli("report", *three_hosts(tmp_path))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == (f"unclosed: 3 sources, 3 JVMs: {tmp_path / 'a.db'} (1 JVM), {tmp_path / 'b.db'} (1 JVM), "
                        f"{tmp_path / 'c.db'} (1 JVM)")
    assert [line for line in lines if line.startswith("java.")] == [
        "java.util.zip.Deflater (zlib): leaked 3 (786 KiB) held 0 (0 B) of 3 opened; seen in 3 of 3 sources (3 JVMs)",
        "java.util.zip.Deflater (zlib): leaked 6 (1.5 MiB) held 0 (0 B) of 6 opened; seen in 2 of 3 sources (2 JVMs)",
        "java.util.zip.Deflater (zlib): leaked 20 (5.1 MiB) held 0 (0 B) of 20 opened; seen in 1 of 3 sources (1 JVM)"]
    assert [line for line in lines if line.startswith("  culprit: ")] == [
        "  culprit: com.acme.Cache.put(Cache.java:7)", "  culprit: com.acme.Pool.take(Pool.java:5)",
        "  culprit: com.acme.Codec.pack(Codec.java:30)"]

    document = json.loads(run_cli("report", *three_hosts(tmp_path / "again"), "--format", "json").stdout)
    assert [(s["jvms"]) for s in document["sources"]] == [1, 1, 1]
    assert [(f["culprit"], f["sources"], f["jvms"], f["leaked"], f["tests"]) for f in document["findings"]] == [
        ("com.acme.Cache.put(Cache.java:7)", 3, 3, 3, [{"name": "com.acme.CacheTest.puts", "objects": 3}]),
        ("com.acme.Pool.take(Pool.java:5)", 2, 2, 6, [{"name": "com.acme.PoolTest.takes", "objects": 6}]),
        ("com.acme.Codec.pack(Codec.java:30)", 1, 1, 20, [{"name": "com.acme.CodecTest.packs", "objects": 20}])]
    assert run_cli("report", *three_hosts(tmp_path / "html"), "--format", "html").returncode == 2


def test_a_data_folder_is_reported_as_the_database_it_would_make(tmp_path):
    folder = jvm_data(tmp_path / "build", 7, [(["java.util.zip.Deflater.<init>(Deflater.java:202)",
                                                "com.acme.Cache.put(Cache.java:7)"], ["com.acme.CacheTest.puts"], 2)])
    jvm_data(folder, 9, [(["java.util.zip.Deflater.<init>(Deflater.java:202)", "com.acme.Pool.take(Pool.java:5)"],
                          ["com.acme.PoolTest.takes"], 1)], session="5e5510b")
    document = json.loads(run_cli("report", folder, "--format", "json").stdout)
    assert sorted(run["pid"] for run in document["runs"]) == [7, 9]  # every JVM of the folder
    assert sorted((f["culprit"], f["leaked"]) for f in document["findings"]) == [
        ("com.acme.Cache.put(Cache.java:7)", 2), ("com.acme.Pool.take(Pool.java:5)", 1)]
    assert list(folder.iterdir()) and not list(folder.glob("*.db"))  # nothing written into the folder
