"""Telling whether another process is still alive, and tying children to us."""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Callable

#: prctl(2) option: the signal a child gets when its parent thread ends.
_PR_SET_PDEATHSIG = 1


def process_running(pid: int) -> bool:
    """Whether a process with this id exists (it may belong to another user)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def die_with_parent() -> Callable[[], None]:
    """A `preexec_fn` for subprocesses: Linux ends the child when we die.

    A parent killed with SIGKILL gets no chance to stop its children, and an
    orphaned dashboard or engine would go on holding its port and store. The
    signal follows the thread that started the child, so start children from
    a thread that lives as long as they should. Elsewhere than Linux the
    returned function does nothing.
    """
    parent = os.getpid()

    def in_child() -> None:
        if not sys.platform.startswith("linux"):
            return
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        # The parent may have died before prctl ran; then nobody would tell us.
        if os.getppid() != parent:
            os._exit(1)

    return in_child
