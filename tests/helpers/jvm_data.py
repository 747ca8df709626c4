"""Data folders and databases of hand-made JVMs (format-2 drain files): Deflaters leaked along
given stacks, by given tests, for the tests of the gate and of reports over several sources."""
from __future__ import annotations

from pathlib import Path

from helpers.cli import run_cli
from helpers.drains import SESSION, write_drain

T0 = 1_700_000_000_000
DEFLATER = 268288
DEFLATER_INIT = "java.util.zip.Deflater.<init>(Deflater.java:202)"
# Below a JUnit 4 test method: reflection, then the runner (cut short at the agent's depth).
RUNNER = ["jdk.internal.reflect.NativeMethodAccessorImpl.invoke0(Native Method)",
          "jdk.internal.reflect.NativeMethodAccessorImpl.invoke(NativeMethodAccessorImpl.java:77)",
          "jdk.internal.reflect.DelegatingMethodAccessorImpl.invoke(DelegatingMethodAccessorImpl.java:43)",
          "java.lang.reflect.Method.invoke(Method.java:568)",
          "org.junit.runners.model.FrameworkMethod$1.runReflectiveCall(FrameworkMethod.java:59)",
          "org.junit.internal.runners.model.ReflectiveCallable.run(ReflectiveCallable.java:12)",
          "org.junit.runners.model.FrameworkMethod.invokeExplosively(FrameworkMethod.java:56)"]
LIBRARY_LINE = "com.acme.lib.Compressor.compress(Compressor.java:9)"
LEAK = ([DEFLATER_INIT, "com.acme.Cache.put(Cache.java:7)"], ["com.acme.CacheTest.puts"], 1)


def jvm_data(folder: Path, pid: int, sites, *, exited=True, counters=(), extra=(), sample=1,
             session: str = SESSION, main: str = "com.acme.Main") -> Path:
    """A data folder holding one JVM's one data file: `sites` are (frames, tests, objects leaked
    per test) of Deflaters, each leaked object listed with the test that created it; the culprit
    is the first frame outside java.* (none: only the JDK's)."""
    records = [("J", "pid", pid), ("J", "main_class", main), ("J", "mode", "startup"),
               ("J", "tracking_since_ms", T0), ("J", "sample", sample)]
    tests = sorted({test for _, site_tests, _ in sites for test in site_tests})
    records += [("U", number, name) for number, name in enumerate(tests, 1)]
    objects, counts = [], []
    for sid, (frames, site_tests, leaked) in enumerate(sites, 1):
        culprit = next((f for f in frames if not f.startswith("java.")), "")
        records.append(("S", sid, "c", "java.util.zip.Deflater", "zlib", culprit, ""))
        records += [("F", sid, i, frame) for i, frame in enumerate(frames)]
        for test in site_tests:
            for _ in range(leaked):
                objects.append((len(objects) + 1, sid, tests.index(test) + 1))
        n = len(site_tests) * leaked
        counts.append(("C", sid, n, 0, n, 0, 0, n * DEFLATER, 0, 0, 0, 0))
    records += [("O", oid, sid, 1, T0 + oid, DEFLATER, test) for oid, sid, test in objects]
    records += [("L", oid, T0 + 1000) for oid, _, _ in objects]
    records += counts + [("N", name, value) for name, value in counters] + list(extra)
    if exited:
        records.append(("Z", T0 + 2000))
    folder.mkdir(parents=True, exist_ok=True)
    write_drain(folder / f"unclosed-{pid}-{session}-1.tsv", records, session=session)
    return folder


def three_hosts(tmp_path) -> list[Path]:
    """Three hosts, a database each: Cache.put leaks on all three (a little), Codec.pack on one
    (a lot), Pool.take on two."""
    cache = LEAK
    pack = ([DEFLATER_INIT, "com.acme.Codec.pack(Codec.java:30)"], ["com.acme.CodecTest.packs"], 20)
    take = ([DEFLATER_INIT, "com.acme.Pool.take(Pool.java:5)"], ["com.acme.PoolTest.takes"], 3)
    dbs = []
    for host, sites in (("a", [cache, pack]), ("b", [cache, take]), ("c", [take, cache])):
        folder = jvm_data(tmp_path / host, 100 + len(dbs), sites)
        db = tmp_path / f"{host}.db"
        assert run_cli("import", folder, "--db", db).returncode == 0
        dbs.append(db)
    return dbs
