"""The JDKs the suites run on, on this machine: the LTS runtimes include those .ci/setup caches,
and a program compiled for each (by a newer javac with --release where it has none) runs on it."""
from __future__ import annotations

from helpers import jvm
from helpers.jvm import can_compile, java_feature, lts_jdks, machine_jdks

# Prints its Java feature release, then idles.
FEATURE_PROGRAM = """
public class Feature {
    public static void main(String[] args) throws Exception {
        System.out.println("ready " + Runtime.version().feature());
        Thread.sleep(300_000);
    }
}
"""


def test_the_lts_suites_run_on_the_cached_runtimes_too():
    features = {java_feature(jdk): jdk for jdk in lts_jdks()}
    assert {11, 17, 21, 25} <= set(features), "run .ci/setup: it fetches the runtimes 11 and 21"
    assert features[11].parent == features[21].parent == jvm.JDK_CACHE
    assert all(can_compile(jdk) for jdk in machine_jdks()) and 17 in map(java_feature, machine_jdks())


def test_a_program_compiled_for_a_runtime_runs_on_it(lts_jdk, java_program):
    java_program(lts_jdk, FEATURE_PROGRAM, ready=f"ready {java_feature(lts_jdk)}")
