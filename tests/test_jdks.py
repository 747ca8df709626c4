"""The JDKs the tests run on: the machine's and the runtimes .ci/setup caches, one per feature
release, and programs compiled for those without javac by a newer JDK's javac --release."""
from __future__ import annotations

from pathlib import Path

import jvm
from conftest import jdks, lts_jdks
from jvm import can_compile, find_jdks, java_feature, javac_for

# Prints its Java feature release, then idles.
FEATURE_PROGRAM = """
public class Feature {
    public static void main(String[] args) throws Exception {
        System.out.println("ready " + Runtime.version().feature());
        Thread.sleep(300_000);
    }
}
"""


def fake_home(root: Path, name: str, version: str, javac: bool) -> Path:
    home = root / name
    (home / "bin").mkdir(parents=True)
    (home / "bin" / "java").touch()
    if javac:
        (home / "bin" / "javac").touch()
    (home / "release").write_text(f'JAVA_VERSION="{version}"\nMODULES="java.base"\n')
    return home


def test_the_machines_jdks_come_first_then_the_newest_cached_runtime_of_each_other_release(tmp_path, monkeypatch):
    machine, cache = tmp_path / "jvm", tmp_path / "cache"
    jdk17 = fake_home(machine, "java-17-openjdk-amd64", "17.0.15", javac=True)
    (machine / "java-1.17.0-openjdk-amd64").symlink_to(jdk17)  # Debian's alias
    jdk25 = fake_home(machine, "temurin-25-jdk-amd64", "25.0.3", javac=True)
    fake_home(cache, "11.0.9.0", "11.0.9", javac=False)
    runtime11 = fake_home(cache, "11.0.13.1", "11.0.13", javac=False)
    runtime21 = fake_home(cache, "21.0.8.2", "21.0.8", javac=False)
    fake_home(cache, "17.0.9.2", "17.0.9", javac=False)  # the machine has a 17
    monkeypatch.setattr(jvm, "JVM_ROOT", machine)
    monkeypatch.setattr(jvm, "JDK_CACHE", cache)

    assert find_jdks() == [runtime11, jdk17, runtime21, jdk25]
    assert [can_compile(jdk) for jdk in find_jdks()] == [False, True, False, True]
    # The oldest JDK whose javac knows the runtime's release compiles for it.
    assert javac_for(runtime11) == [str(jdk17 / "bin" / "javac"), "--release", "11"]
    assert javac_for(runtime21) == [str(jdk25 / "bin" / "javac"), "--release", "21"]
    assert javac_for(jdk17) == [str(jdk17 / "bin" / "javac")]


def test_the_lts_suites_run_on_the_cached_runtimes_too():
    features = {java_feature(jdk): jdk for jdk in lts_jdks()}
    assert {11, 17, 21, 25} <= set(features), "run .ci/setup: it fetches the runtimes 11 and 21"
    assert features[11].parent == features[21].parent == jvm.JDK_CACHE
    assert all(can_compile(jdk) for jdk in jdks()) and 17 in map(java_feature, jdks())


def test_a_program_compiled_for_a_runtime_runs_on_it(lts_jdk, java_program):
    java_program(lts_jdk, FEATURE_PROGRAM, ready=f"ready {java_feature(lts_jdk)}")
