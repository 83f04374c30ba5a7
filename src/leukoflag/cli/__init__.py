"""The ``leukoflag`` command (placeholder until the command-line work lands)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    sys.stderr.write("leukoflag: the command line is not built yet\n")
    return 2
