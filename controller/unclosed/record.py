"""Recording: drain a JVM's agent into the database every interval until told to stop; and what a
recording that died left behind, taken in by the next one."""

import os
import signal
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from . import hotspot
from .agent_folder import AgentFolder, NotAnAgentFolder
from .attach import attach_agent, process_alive
from .channel import AgentChannel
from .errors import UnclosedError
from .faults import pause_if_asked
from .store import Store, check_database
from .units import stopwatch

EXIT_FILE = "exit.tsv"  # what the agent leaves for its reader when the JVM exits
EXIT_WAIT_S = 5.0  # after the channel went quiet: how long the JVM may take to finish exiting
AGENT_WRITE_WAIT_S = 30.0  # how long a drain the agent is still writing may take to appear


def record(pid: int, db_path: Path, duration: float | None = None, interval: float = 5.0,
           label: str | None = None, stop: threading.Event | None = None, progress=None,
           agent_options: dict | None = None) -> dict:
    """Attaches to JVM `pid` if needed and records a new run into the database at `db_path`
    (made only once the agent runs).

    Drains every `interval` seconds; stops after `duration` seconds (None: no limit) or once
    `stop` is set, with one last drain: the run is then `complete`. When the JVM exits, the
    data its agent left at exit is taken in too (the run is `complete`; `incomplete` when the
    JVM was killed and left none). `progress` (a text stream) gets a status line per drain, and
    a line per recording of an earlier recorder that died, taken in. `agent_options` apply when
    it attaches (docs/protocol.md). Returns the run's id, status and drains, and the last
    drain's summary.
    """
    stop = stop or threading.Event()
    check_database(db_path)  # a database it cannot go into is refused before the JVM is touched
    agent_dir = attach_agent(pid, agent_options)
    uid = hotspot.effective_uid(pid)
    channel = AgentChannel.connect(agent_dir, pid)
    run_id = None
    # Held open while recording: a JVM in a container keeps its folder in its own /tmp, gone
    # with its mount namespace when it exits, while the agent's exit data is still to be read.
    with AgentFolder(agent_dir, uid) as folder:
        try:
            with Store(db_path) as store:
                for recovered in recover(store):
                    if progress:
                        progress.write(f"{recovered}\n")
                run_id = store.begin_run(channel.status(), pid, label, recorder=this_process(), agent_dir=str(agent_dir),
                                         agent_uid=uid)
                result = _drain_until_done(pid, store, run_id, channel, folder, duration, interval, stop,
                                           Progress(progress, pid) if progress else None)
                if result["jvm_gone"]:
                    folder.remove()
                store.end_run(run_id, result["status"])
                return {"run_id": run_id, **result}
        except BaseException:
            if run_id is not None:
                with Store(db_path) as store:
                    store.end_run(run_id, "incomplete")
            raise
        finally:
            channel.close()


def _drain_until_done(pid: int, store: Store, run_id: int, channel: AgentChannel, folder: AgentFolder,
                      duration: float | None, interval: float, stop: threading.Event, display) -> dict:
    """Drains until done; `jvm_gone` in the result: the JVM exited (its agent's folder is then
    the recorder's to remove)."""
    # The agent writes the file in its own folder (where the JVM's user may write), under a
    # name of this recorder's: two recordings of one JVM never share one.
    name = drain_file_name(os.getpid())
    channel.begin_reading(int(interval * 1000))
    started = time.monotonic()
    deadline = None if duration is None else started + duration
    summary, drains, jvm_gone = {}, 0, False
    while True:
        last = _wait(min(started + (drains + 1) * interval, deadline or float("inf")), stop, pid)
        last = last or (deadline is not None and time.monotonic() >= deadline)
        known = store.known(run_id)
        try:
            pause_if_asked("draining")
            channel.drain(name, known["sites"], known["threads"], known["tests"], int(interval * 1000))
        except UnclosedError:
            if process_alive(pid) and not _exiting(pid):
                raise
            jvm_gone = True
            exited = _take_exit_data(store, run_id, folder, name)
            summary = exited or summary
            status = "complete" if exited else "incomplete"  # killed: what came before is all there is
            break
        pause_if_asked("drained")
        summary = _ingest(store, run_id, folder, name)
        folder.unlink(name)
        drains += 1
        if display:
            display.update(time.monotonic() - started, drains, summary)
        if last:
            channel.finish_reading()
            status = "complete"
            break
    if display:
        display.finish()
    return {"status": status, "drains": drains, **summary, "jvm_gone": jvm_gone}


def _exiting(pid: int) -> bool:
    """Whether the JVM is on its way out (its channel went quiet): wait a little for it to go."""
    deadline = time.monotonic() + EXIT_WAIT_S
    while time.monotonic() < deadline:
        if not process_alive(pid):
            return True
        time.sleep(0.05)
    return False


def _ingest(store: Store, run_id: int, folder: AgentFolder, name: str) -> dict | None:
    """Takes in the drain file `name` of the agent's folder; None when there is none."""
    with folder.file(name) as path:
        return None if path is None else store.ingest_drain(run_id, path)


def _take_exit_data(store: Store, run_id: int, folder: AgentFolder, drain_name: str) -> dict | None:
    """The data the agent left as its JVM exited: the drain it wrote as the channel went quiet,
    if any, and its exit data (everything since), each taken in once. The exit data's summary,
    or None when there is none (the JVM was killed)."""
    summary = None
    for name in (drain_name, EXIT_FILE):
        summary = _ingest(store, run_id, folder, name) or summary
    return summary if summary and summary["exited"] else None


def recover(store: Store) -> list[str]:
    """Recordings of this database whose recorder died (killed, its machine rebooted): the drain
    it had the agent write and the agent's exit data, when still there, are taken in (once),
    and the run is ended, `complete` when the JVM's exit data was there. Returns a line per run."""
    told = []
    for run in store.recordings():
        if recorder_alive(run["recorder_pid"], run["recorder_started"]):
            continue
        taken, exited, problem = [], False, None
        try:
            folder = AgentFolder(Path(run["agent_dir"]), run["agent_uid"]) if run["agent_dir"] else None
        except NotAnAgentFolder as e:
            folder, problem = None, str(e)
        if folder:
            with folder:
                for name in (drain_file_name(run["recorder_pid"]), EXIT_FILE):
                    _await_agent_writing(folder, name)
                    try:
                        summary = _ingest(store, run["id"], folder, name)
                    except UnclosedError as e:
                        told.append(f"unclosed: run {run['id']}: left {folder.path / name} unread: {e}")
                        continue
                    if summary is not None:
                        exited = exited or summary["exited"]
                        taken.append(name)
                        folder.unlink(name)
                if exited or not process_alive(run["pid"]):
                    folder.remove()
        status = "complete" if exited else "incomplete"
        store.end_run(run["id"], status)
        told.append(f"unclosed: run {run['id']} (JVM {run['pid']}) was left recording by a recorder that died "
                    f"(pid {run['recorder_pid']}): {'took in ' + ' and '.join(taken) if taken else 'nothing was left'}"
                    f"{f' ({problem})' if problem else ''}; marked {status}")
    return told


def _await_agent_writing(folder: AgentFolder, name: str) -> None:
    """The agent writes a file under a temporary name, then renames it: a recorder killed while
    its drain was being written leaves it to appear a moment later."""
    deadline = time.monotonic() + AGENT_WRITE_WAIT_S
    while not folder.has(name) and folder.names(f".{name}.*.tmp") and time.monotonic() < deadline:
        time.sleep(0.05)


def drain_file_name(recorder_pid: int) -> str:
    return f"drain-{recorder_pid}.tsv"


def this_process() -> dict:
    """This process as a recorder: its pid and start time (clock ticks since boot, which a pid
    used again by another process does not share)."""
    return {"pid": os.getpid(), "started": _start_ticks(os.getpid())}


def recorder_alive(pid: int | None, started: int | None) -> bool:
    return pid is not None and process_alive(pid) and _start_ticks(pid) == started


def _start_ticks(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


@contextmanager
def stop_on_signals():
    """Yields an event that Ctrl-C or SIGTERM sets: a recording then stops after one last drain.
    A second Ctrl-C interrupts at once."""
    stop = threading.Event()

    def handle(signum, frame):
        sys.stderr.write("\nstopping after one last drain (Ctrl-C again to stop at once)\n")
        sys.stderr.flush()
        stop.set()
        signal.signal(signum, previous[signum])

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _wait(until: float, stop: threading.Event, pid: int) -> bool:
    """Sleeps until the monotonic time `until`, or until JVM `pid` is gone (its exit data waits);
    True when `stop` was set meanwhile. Polls in short naps: a signal handler may set `stop`, and
    Event.wait could deadlock with it."""
    while not stop.is_set():
        left = until - time.monotonic()
        if left <= 0 or not process_alive(pid):
            return False
        time.sleep(min(left, 0.1))
    return True


class Progress:
    """One status line: rewritten in place on a terminal, one line per drain otherwise."""

    def __init__(self, stream, pid: int):
        self.stream, self.pid = stream, pid
        self.in_place = stream.isatty()

    def update(self, elapsed: float, drains: int, s: dict) -> None:
        line = (f"recording JVM {self.pid}: {stopwatch(elapsed)} elapsed, {drains} drain{'s' if drains != 1 else ''}, "
                f"opened {s['opened']} leaked {s['leaked']} held {s['held']} at {s['sites']} sites")
        self.stream.write(f"\r\033[K{line}" if self.in_place else f"{line}\n")
        self.stream.flush()

    def finish(self) -> None:
        if self.in_place:
            self.stream.write("\n")
            self.stream.flush()
