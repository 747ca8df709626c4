"""The controller clears the folders agents of JVMs now gone left behind (a JVM killed hard cannot
remove its own), and nothing else; it reads and removes an agent's folder only through a
descriptor of the folder itself, whatever the JVM's user puts at its path."""
from __future__ import annotations

import os
import subprocess

import pytest

from unclosed.agent_folder import AgentFolder, NotAnAgentFolder
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
    holder.mkdir(mode=0o700)
    (holder / "log").write_text("kept")
    (holder / "sub").mkdir()  # an agent makes no folders in its own: not an agent's

    assert sorted(sweep_dead_agent_folders(tmp_path)) == sorted([plain, fresh])
    assert not plain.exists() and not fresh.exists()
    assert with_data.is_dir() and living.is_dir() and (holder / "log").is_file() and all(f.is_dir() for f in others)
    assert link.is_symlink() and victim.read_text() == "keep me"
    open_to_all = tmp_path / f"unclosed-{a_dead_pid()}"
    open_to_all.mkdir()
    open_to_all.chmod(0o777)  # not an agent's: its folders are owner-only
    (open_to_all / "data").write_text("kept")
    assert sweep_dead_agent_folders(tmp_path) == [] and (open_to_all / "data").is_file()


def agent_folder(path):
    path.mkdir(mode=0o700)
    (path / "agent.log").write_text("1 tracking started\n")
    return path


@pytest.mark.parametrize("what", ["a link", "another user's", "open to others", "a file"])
def test_a_path_that_is_not_an_agents_folder_is_refused(tmp_path, what):
    real = agent_folder(tmp_path / "real")
    path = tmp_path / "unclosed-1"
    uid = os.geteuid()
    if what == "a link":
        path.symlink_to(real)
    elif what == "another user's":
        path, uid = real, uid + 1
    elif what == "open to others":
        path = real
        real.chmod(0o755)
    else:
        path.write_text("")
    with pytest.raises(NotAnAgentFolder):
        AgentFolder(path, uid)


def test_files_are_read_only_as_the_agent_wrote_them(tmp_path):
    victim = tmp_path / "shadow"
    victim.write_text("root:secret\n")
    folder = agent_folder(tmp_path / "unclosed-1")
    (folder / "drain-1.tsv").symlink_to(victim)
    os.mkfifo(folder / "exit.tsv")
    (folder / "drain-2.tsv").write_text("V\t2\n")
    with AgentFolder(folder, os.geteuid()) as held:
        for planted in ("drain-1.tsv", "exit.tsv"):  # a link is not followed; a FIFO does not hang us
            with pytest.raises(NotAnAgentFolder), held.file(planted):
                pass
        with held.file("drain-2.tsv") as path:
            assert path.read_text() == "V\t2\n"
        with held.file("drain-3.tsv") as path:
            assert path is None


def test_a_folder_swapped_for_a_link_is_removed_not_what_the_link_names(tmp_path):
    victims = tmp_path / "victims"
    victims.mkdir()
    (victims / "passwd").write_text("keep me")
    folder = agent_folder(tmp_path / "unclosed-1")
    with AgentFolder(folder, os.geteuid()) as held:
        folder.rename(tmp_path / "moved")  # the JVM's user moves its folder aside, puts a link in its place
        folder.symlink_to(victims)
        assert not held.remove()  # its own files go; the name now means something else, which stays
    assert (victims / "passwd").read_text() == "keep me" and folder.is_symlink()
    assert list((tmp_path / "moved").iterdir()) == []
