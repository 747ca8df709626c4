"""The controller clears the folders agents of JVMs now gone left behind (a JVM killed hard cannot
remove its own), and nothing else."""
from __future__ import annotations

import os
import subprocess

from unclosed.attach import sweep_dead_agent_folders


def a_dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_the_folders_of_dead_jvms_go_unless_they_hold_data(tmp_path):
    dead, alive = a_dead_pid(), os.getpid()
    plain = tmp_path / f"unclosed-{dead}"
    plain.mkdir(mode=0o700)
    (plain / "agent.log").write_text("1 tracking started\n")
    (plain / "control").write_text("1234 token\n")
    fresh = tmp_path / f"unclosed-{dead}-5e3f"  # the agent's fresh name when the plain one was taken
    fresh.mkdir(mode=0o700)
    with_data = tmp_path / f"unclosed-{a_dead_pid()}"
    with_data.mkdir(mode=0o700)
    (with_data / "exit.tsv").write_text("V\t2\n")  # a recorder that died takes it in later
    living = tmp_path / f"unclosed-{alive}"
    living.mkdir(mode=0o700)
    others = [tmp_path / "unclosed-run-x1", tmp_path / f"unclosed-data-{dead}", tmp_path / "unclosed-test-abc"]
    for folder in others:
        folder.mkdir()
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    link = tmp_path / f"unclosed-{a_dead_pid()}"
    link.symlink_to(victim)
    holder = tmp_path / f"unclosed-{a_dead_pid()}"
    holder.mkdir()
    (holder / "sub").mkdir()  # an agent makes no folders in its own: not an agent's

    assert sorted(sweep_dead_agent_folders(tmp_path)) == sorted([plain, fresh])
    assert not plain.exists() and not fresh.exists()
    assert with_data.is_dir() and living.is_dir() and holder.is_dir() and all(f.is_dir() for f in others)
    assert link.is_symlink() and victim.read_text() == "keep me"
