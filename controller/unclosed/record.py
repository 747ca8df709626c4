"""Recording: drain a JVM's agent into the database every interval until told to stop."""

import os
import signal
import sys
import threading
import time
from contextlib import contextmanager

from .attach import attach_agent, process_alive
from .channel import AgentChannel
from .errors import UnclosedError
from .store import Store
from .units import stopwatch


def record(pid: int, store: Store, duration: float | None = None, interval: float = 5.0,
           label: str | None = None, stop: threading.Event | None = None, progress=None,
           agent_options: dict | None = None) -> dict:
    """Attaches to JVM `pid` if needed and records a new run into `store`.

    Drains every `interval` seconds; stops after `duration` seconds (None: no limit) or once
    `stop` is set, with one last drain: the run is then `complete`. When the JVM goes away, what
    was drained is kept and the run is `incomplete`. `progress` (a text stream) gets a status
    line per drain. `agent_options` apply when it attaches (docs/protocol.md). Returns the run's
    id, status and drains, and the last drain's summary.
    """
    stop = stop or threading.Event()
    agent_dir = attach_agent(pid, agent_options)
    channel = AgentChannel.connect(agent_dir)
    run_id = None
    try:
        run_id = store.begin_run(channel.status(), pid, label)
        display = Progress(progress, pid) if progress else None
        # The agent writes the file, so it goes where the JVM's user may write: its own folder.
        drain_file = agent_dir / f"drain-{os.getpid()}.tsv"
        started = time.monotonic()
        deadline = None if duration is None else started + duration
        summary, drains, status = {}, 0, "complete"
        while True:
            last = _wait(min(started + (drains + 1) * interval, deadline or float("inf")), stop)
            last = last or (deadline is not None and time.monotonic() >= deadline)
            try:
                channel.drain(drain_file)
                summary = store.ingest_drain(run_id, drain_file)
            except UnclosedError:
                if process_alive(pid):
                    raise
                status = "incomplete"  # the JVM exited: what came before is all there is
                break
            finally:
                drain_file.unlink(missing_ok=True)
            drains += 1
            if display:
                display.update(time.monotonic() - started, drains, summary)
            if last:
                break
        if display:
            display.finish()
        store.end_run(run_id, status)
        return {"run_id": run_id, "status": status, "drains": drains, **summary}
    except BaseException:
        if run_id is not None:
            store.end_run(run_id, "incomplete")
        raise
    finally:
        channel.close()


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


def _wait(until: float, stop: threading.Event) -> bool:
    """Sleeps until the monotonic time `until`; True when `stop` was set meanwhile. Polls in
    short naps: a signal handler may set `stop`, and Event.wait could deadlock with it."""
    while not stop.is_set():
        left = until - time.monotonic()
        if left <= 0:
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
