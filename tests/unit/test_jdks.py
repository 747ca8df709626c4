"""Which JDKs the tests run on (tests/helpers/jvm.py), on made-up JDK folders: the machine's
and the cached runtimes, one per feature release, and who compiles for those without javac."""
from __future__ import annotations

from pathlib import Path

from helpers import jvm
from helpers.jvm import can_compile, find_jdks, javac_for


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
