"""What the command-line tests share: running the installed console script."""

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

Run = Callable[..., subprocess.CompletedProcess[str]]


def _script() -> str:
    # The console script sits beside the interpreter running pytest.
    bin_dir = Path(sys.executable).parent
    found = shutil.which("supportpulse", path=str(bin_dir))
    if found is None:
        pytest.fail(f"no supportpulse script in {bin_dir}; pip install -e .")
    return found


@pytest.fixture
def run(tmp_path: Path) -> Run:
    """Run a command in tmp_path, inheriting no SUPPORTPULSE_* settings.

    The command is the console script unless `program` names another one.
    """
    script = _script()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTPULSE_")}

    def run(
        *args: str, env: dict[str, str] | None = None, program: list[str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*(program or [script]), *args],
            cwd=tmp_path,
            env={**clean, **(env or {})},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    return run
