"""Resources a user names in a rules file, end to end on every LTS JDK, at startup and attached:
H2's JDBC connections and the JDK's file channels (tests/programs/rules.toml, as in the README)."""
from __future__ import annotations

import pytest

from helpers.cli import run_cli
from helpers.jvm import PROGRAMS, compile_program, jdk_id
from helpers.maven import maven_jars
from helpers.recording import MODES, cli, culprit, record, report, start
from unclosed import attach_agent

PROGRAM = "RulesWorkload"
RULES = PROGRAMS / "rules.toml"
JDBC, FILE = "org.h2.jdbc.JdbcConnection", "sun.nio.ch.FileChannelImpl"


@pytest.fixture(scope="session")
def h2(tmp_path_factory):
    return maven_jars("h2", ["com.h2database:h2:2.3.232"], tmp_path_factory.mktemp("h2"))


@pytest.fixture(scope="module")
def classes(lts_jdk, h2, tmp_path_factory):
    return lts_jdk, compile_program(lts_jdk, PROGRAM, tmp_path_factory.mktemp(jdk_id(lts_jdk)), classpath=h2)


def counts(site) -> tuple:
    return (site["kind"], site["family"], site["opened"], site["released"], site["leaked"], site["held"], site["culprit"])


@pytest.mark.parametrize("mode", MODES)
def test_a_rules_file_tracks_jdbc_connections_and_file_channels(classes, h2, mode, tmp_path):
    jdk, compiled = classes
    db, agent_dir = tmp_path / "audit.db", tmp_path / "agent"
    if mode == "startup":
        jvm = start(jdk, compiled, PROGRAM, mode, agent_dir, classpath=h2, options={"rules": RULES})
    else:  # as a user would: unclosed attach PID --rules FILE
        jvm = start(jdk, compiled, PROGRAM, "none", agent_dir, classpath=h2)
        assert cli("attach", jvm.pid, "--dir", agent_dir, "--rules", RULES).strip() == str(agent_dir)
    try:
        jvm.send("jdbc")
        jvm.send("files")
        record(jvm, db)

        assert sorted(counts(s) for s in report(db)["sites"]) == sorted([
            (JDBC, "jdbc", 2, 0, 0, 2, culprit(PROGRAM, "jdbc_held")),
            (JDBC, "jdbc", 1, 0, 1, 0, culprit(PROGRAM, "jdbc_dropped")),
            (FILE, "file", 2, 0, 0, 2, culprit(PROGRAM, "file_held")),
            (FILE, "file", 1, 0, 1, 0, culprit(PROGRAM, "file_dropped")),
        ])
        closed = sorted(counts(s) for s in report(db, "--all")["sites"]
                        if s["culprit"] in (culprit(PROGRAM, "jdbc_closed"), culprit(PROGRAM, "file_closed")))
        assert closed == sorted([(JDBC, "jdbc", 3, 3, 0, 0, culprit(PROGRAM, "jdbc_closed")),
                                 (FILE, "file", 3, 3, 0, 0, culprit(PROGRAM, "file_closed"))])

        assert {s["kind"] for s in report(db, "--family", "jdbc")["sites"]} == {JDBC}
        assert {s["culprit"] for s in report(db, "--kind", "FileChannelImpl")["sites"]} == {
            culprit(PROGRAM, "file_held"), culprit(PROGRAM, "file_dropped")}
        assert f"{JDBC} (jdbc): leaked 1 held 0 of 1 opened" in cli("report", db)
    finally:
        assert jvm.finish() == 0


def test_rules_cannot_change_once_the_agent_runs(classes, h2, tmp_path):
    jdk, compiled = classes
    jvm = start(jdk, compiled, PROGRAM, "attach", tmp_path / "agent", classpath=h2)
    try:
        result = run_cli("attach", jvm.pid, "--rules", RULES)
        assert result.returncode == 1
        assert f"JVM {jvm.pid} already runs the agent, and its options stay as they are (--rules not applied)" in result.stderr
    finally:
        assert jvm.finish() == 0


def test_a_bad_rules_file_stops_the_attach_with_its_line(classes, h2, tmp_path):
    jdk, compiled = classes
    rules = tmp_path / "rules.toml"
    rules.write_text('[[resource]]\nclass = "org.h2.jdbc.JdbcConnection"\nacquire = "constructor"\nfamily = "jdbc"\n')
    jvm = start(jdk, compiled, PROGRAM, "none", tmp_path / "agent", classpath=h2)
    try:
        with pytest.raises(Exception, match=r"rules file .*rules.toml line 1: \[\[resource\]\] needs release"):
            attach_agent(jvm.pid, {"dir": str(tmp_path / "agent"), "rules": str(rules)})
        jvm.send("jdbc")  # the application carries on
    finally:
        assert jvm.finish() == 0
