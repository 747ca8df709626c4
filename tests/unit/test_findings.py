"""Findings (findings.py) from site records as Store.site_findings gives them: grouping by kind
and culprit line, paths, tests (the agent's, else the frames'), and what is counted apart."""
from __future__ import annotations

import pytest

from unclosed.findings import group, is_runner, preexisting_by_kind, called_by_runner

DEFLATER, INFLATER = 268288, 39936
GZ = "java.util.zip.GZIPOutputStream"
GZ_TOP = ["java.util.zip.Deflater.<init>(Deflater.java:202)",
          "java.util.zip.GZIPOutputStream.<init>(GZIPOutputStream.java:93)"]
CODEC = "com.acme.Codec.compress(Codec.java:12)"
# JUnit 5 on JDK 17, below the test method (the agent keeps reflection frames).
JUPITER = ["jdk.internal.reflect.NativeMethodAccessorImpl.invoke0(Native Method)",
           "java.lang.reflect.Method.invoke(Method.java:568)",
           "org.junit.platform.commons.util.ReflectionUtils.invokeMethod(ReflectionUtils.java:725)",
           "org.junit.jupiter.engine.execution.MethodInvocation.proceed(MethodInvocation.java:60)"]
# JUnit 4 under Surefire, as a stack without reflection frames shows it.
JUNIT4 = ["org.junit.runners.model.FrameworkMethod$1.runReflectiveCall(FrameworkMethod.java:59)",
          "org.junit.runners.ParentRunner.run(ParentRunner.java:413)",
          "org.apache.maven.surefire.junit4.JUnit4Provider.execute(JUnit4Provider.java:385)"]
POOL = ["java.util.concurrent.ThreadPoolExecutor.runWorker(ThreadPoolExecutor.java:1136)",
        "java.lang.Thread.run(Thread.java:833)"]


def site(site_id, frames, leaked=0, held=0, *, run=1, kind=GZ, culprit=CODEC, role="c", opened=None, released=0,
         in_flight=0, size=DEFLATER, detail=None, unknown=False):
    """A record as Store.site_findings makes it."""
    return {"run": run, "site_id": site_id, "role": role, "kind": kind, "family": "zlib", "unknown": unknown,
            "opened": opened if opened is not None else released + leaked + held + in_flight, "released": released,
            "leaked": leaked, "held": held, "in_flight": in_flight, "released_by_gc": 0,
            "bytes_leaked": leaked * size, "bytes_held": held * size, "bytes_in_flight": in_flight * size,
            "oldest_held_age_s": 2.0 if held else None, "culprit": culprit, "detail": detail, "frames": frames}


@pytest.mark.parametrize("frames, test", [
    (GZ_TOP + ["com.acme.CodecTest.leaks(CodecTest.java:9)"] + JUPITER, "com.acme.CodecTest.leaks"),
    (GZ_TOP + [CODEC, "com.acme.CodecTest.compresses(CodecTest.java:20)"] + JUPITER, "com.acme.CodecTest.compresses"),
    # assertThrows runs the test's lambda: JUnit's API is not the runner.
    (GZ_TOP + [CODEC, "com.acme.CodecTest.lambda$rejects$0(CodecTest.java:31)",
               "org.junit.jupiter.api.AssertThrows.assertThrows(AssertThrows.java:53)",
               "org.junit.jupiter.api.Assertions.assertThrows(Assertions.java:3082)",
               "com.acme.CodecTest.rejects(CodecTest.java:31)"] + JUPITER, "com.acme.CodecTest.rejects"),
    (GZ_TOP + [CODEC, "com.acme.LegacyTest.compresses(LegacyTest.java:14)"] + JUNIT4, "com.acme.LegacyTest.compresses"),
    (GZ_TOP + [CODEC] + POOL, None),  # made on a pool thread: no runner on its stack
    (GZ_TOP + [CODEC, "java.util.ArrayList.forEach(ArrayList.java:1511)"] + JUPITER, None),  # the JDK called it
    (GZ_TOP + [CODEC, "com.acme.Service.handle(Service.java:30)"], None),  # cut short by the agent's depth
])
def test_the_test_in_a_stack_is_the_frame_above_the_runner(frames, test):
    assert called_by_runner({"frames": frames, "culprit": CODEC}) == test


def test_runner_frames_are_junit_surefire_gradle_and_reflection_but_not_junits_api():
    assert [is_runner(frame) for frame in JUPITER + JUNIT4] == [True] * 7
    assert is_runner("org.gradle.api.internal.tasks.testing.worker.TestWorker.run(TestWorker.java:60)")
    assert not is_runner("org.junit.jupiter.api.Assertions.assertThrows(Assertions.java:3082)")
    assert not is_runner("org.junit.Assert.assertThrows(Assert.java:1001)")
    assert not is_runner(CODEC)


def test_a_finding_is_a_kind_and_its_culprit_line_summed_over_its_paths():
    by_service = GZ_TOP + [CODEC, "com.acme.Service.handle(Service.java:30)"] + POOL
    by_batch = GZ_TOP + [CODEC, "com.acme.Batch.run(Batch.java:8)"] + POOL
    sites = [site(1, by_batch, leaked=1, released=4), site(2, by_service, leaked=3, held=1, in_flight=2),
             site(3, by_service, leaked=2, run=2),  # the same path, in another JVM
             site(4, GZ_TOP + ["com.acme.Codec.compress(Codec.java:19)"], held=1,
                  culprit="com.acme.Codec.compress(Codec.java:19)"),  # another line of it
             site(5, ["java.util.zip.Inflater.<init>(Inflater.java:1)", CODEC], leaked=1, kind="java.util.zip.Inflater",
                  size=INFLATER)]  # another kind
    grouped = group(sites, tests_by_run={1: {}, 2: {}})
    assert [(f.kind, f.culprit, [s["site_id"] for s in f.sites]) for f in grouped.findings] == [
        (GZ, CODEC, [2, 3, 1]),
        ("java.util.zip.Inflater", CODEC, [5]),
        (GZ, "com.acme.Codec.compress(Codec.java:19)", [4]),
    ]
    codec = grouped.findings[0]
    assert codec.runs == [1, 2]
    assert [(p["frames"], p["sites"], p["leaked"], p["held"], p["opened"]) for p in codec.paths] == [
        (by_service, 2, 5, 1, 8), (by_batch, 1, 1, 0, 5)]
    assert codec.as_record() == {
        "kind": GZ, "family": "zlib", "culprit": CODEC, "opened": 13, "released": 4, "leaked": 6, "held": 1,
        "in_flight": 2, "released_by_gc": 0, "bytes_leaked": 6 * DEFLATER, "bytes_held": DEFLATER,
        "bytes_in_flight": 2 * DEFLATER, "oldest_held_age_s": 2.0, "paths": 2, "runs": [1, 2],
        "sites": [{"run": 1, "site_id": 2}, {"run": 2, "site_id": 3}, {"run": 1, "site_id": 1}], "tests": []}
    record = codec.as_record()
    assert record["opened"] == record["released"] + record["leaked"] + record["held"] + record["in_flight"]


def test_tests_come_from_the_agent_and_else_from_the_frames_most_objects_first():
    in_test = GZ_TOP + [CODEC, "com.acme.BatchTest.runs(BatchTest.java:14)"] + JUPITER
    sites = [site(1, GZ_TOP + [CODEC] + POOL, leaked=4), site(2, in_test, leaked=2, held=1),
             site(3, in_test, leaked=5, run=2)]
    attributed = {1: {1: [("com.acme.CodecTest.compresses", 3), ("com.acme.CodecTest.roundTrips", 1)],
                      2: [("com.acme.CodecTest.roundTrips", 3)]},
                  2: {}}
    (finding,) = group(sites, tests_by_run=attributed).findings
    # Site 2's objects are the agent's to name (even against its frames); site 3 has none of its own.
    assert finding.tests == [("com.acme.BatchTest.runs", 5), ("com.acme.CodecTest.roundTrips", 4),
                             ("com.acme.CodecTest.compresses", 3)]
    assert finding.as_record()["tests"][0] == {"name": "com.acme.BatchTest.runs", "objects": 5}
    # One run's attribution, by site id, as the gate reads it.
    (alone,) = group(sites[:2], attributed[1]).findings
    assert alone.tests == [("com.acme.CodecTest.roundTrips", 4), ("com.acme.CodecTest.compresses", 3)]


def test_the_jdks_own_sites_and_what_existed_before_are_not_findings():
    jdk_cache = site(1, ["java.nio.ByteBuffer.allocateDirect(ByteBuffer.java:332)",
                         "sun.nio.ch.Util.getTemporaryDirectBuffer(Util.java:243)"], held=1, culprit=None,
                     kind="java.nio.DirectByteBuffer")
    before = site(2, [], held=60, released=40, culprit=None, role="p", kind="java.util.zip.Deflater")
    unknown = [site(7, [], leaked=1, kind=None, culprit=None, unknown=True),
               site(7, [], leaked=1, kind=None, culprit=None, unknown=True, run=2)]
    grouped = group([jdk_cache, before, *unknown], tests_by_run={1: {}, 2: {}})
    assert grouped.jdk_internal == [jdk_cache] and grouped.preexisting == [before]
    # A site the run never had the definition of cannot be told from another: each stays alone.
    assert [(f.unknown, f.kind, f.culprit, f.runs) for f in grouped.findings] == [(True, None, None, [1]),
                                                                                  (True, None, None, [2])]


def test_what_existed_before_is_summed_by_kind_and_none_of_it_is_in_flight():
    sites = [site(1, [], held=50, released=40, in_flight=10, role="p", kind="java.util.zip.Deflater", culprit=None),
             site(2, [], held=20, role="p", kind="java.util.zip.Deflater", culprit=None, run=2),
             site(3, [], held=5, role="p", kind="akka.stream.Source.actorRef", culprit=None, size=0,
                  detail="stages: ActorRefSource, Map"),
             site(4, GZ_TOP + [CODEC], leaked=1)]
    assert preexisting_by_kind(sites) == [
        {"kind": "java.util.zip.Deflater", "family": "zlib", "count": 120, "held": 80, "released": 40, "leaked": 0,
         "bytes": 80 * DEFLATER, "detail": None},
        {"kind": "akka.stream.Source.actorRef", "family": "zlib", "count": 5, "held": 5, "released": 0, "leaked": 0,
         "bytes": 0, "detail": "stages: ActorRefSource, Map"},
    ]
