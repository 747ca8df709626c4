"""A test-only hook: the fault-injection tests stop a `record` at a chosen moment (to kill it
there) by naming the moment in UNCLOSED_TEST_PAUSE_AT; the recorder then writes the file named
by UNCLOSED_TEST_PAUSE_FILE and waits to be killed. Without the variables it does nothing."""

import os
import time
from pathlib import Path

PAUSE_AT = "UNCLOSED_TEST_PAUSE_AT"
PAUSE_FILE = "UNCLOSED_TEST_PAUSE_FILE"


def pause_if_asked(moment: str) -> None:
    if os.environ.get(PAUSE_AT) != moment:
        return
    Path(os.environ[PAUSE_FILE]).write_text(f"{os.getpid()} {moment}\n")
    time.sleep(600)
