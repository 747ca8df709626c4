"""The installed `unclosed` command, run as a user runs it."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent
CLI = str(BIN / "unclosed")


def run_cli(*args, timeout: float = 120, env=None) -> subprocess.CompletedProcess:
    """Runs the installed `unclosed` command; returns its exit code and output."""
    return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, timeout=timeout, env=env)


def cli(*args, check=True) -> subprocess.CompletedProcess:
    """Runs `unclosed`; fails the test when it exits other than 0, unless check=False."""
    done = subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, timeout=180)
    if check and done.returncode != 0:
        raise AssertionError(f"unclosed {' '.join(map(str, args))} exited {done.returncode}: {done.stderr}")
    return done


def run(command, cwd, env, timeout=600) -> subprocess.CompletedProcess:
    """Runs any command (a build, `unclosed` itself) in `cwd` with `env`."""
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)

