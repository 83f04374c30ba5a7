"""Drive the real ``leukoflag`` command in a subprocess (``python -m leukoflag``)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

Runner = Callable[..., subprocess.CompletedProcess[bytes]]


@pytest.fixture
def leukoflag(tmp_path: Path) -> Runner:
    """Run ``leukoflag ARGS`` in ``tmp_path`` (or ``cwd``); stdin from ``stdin`` bytes."""

    def run(
        *args: str | os.PathLike[str], stdin: bytes = b"", cwd: Path | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [sys.executable, "-m", "leukoflag", *[os.fspath(arg) for arg in args]],
            input=stdin,
            capture_output=True,
            cwd=cwd or tmp_path,
            timeout=300,
            check=False,
        )

    return run
