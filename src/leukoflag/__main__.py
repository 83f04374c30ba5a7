"""``python -m leukoflag``: the ``leukoflag`` command."""

from __future__ import annotations

import sys

from leukoflag.cli import main

if __name__ == "__main__":
    sys.exit(main())
