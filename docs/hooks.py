"""MkDocs hook: replaces ``<!-- leukoflag-table: NAME -->`` with a table generated from the
package's data files (``docs/_tables/NAME.py`` defines ``render() -> str``), so docs and data
cannot drift."""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path
from typing import Any

_PLACEHOLDER = re.compile(r"<!-- leukoflag-table: ([a-z0-9_]+) -->")
_DOCS = str(Path(__file__).parent)


def on_page_markdown(markdown: str, **_: Any) -> str:
    def render(match: re.Match[str]) -> str:
        # mkdocs restores sys.path after loading a hook, so add docs/ when a table is rendered.
        if _DOCS not in sys.path:
            sys.path.insert(0, _DOCS)
        module = importlib.import_module(f"_tables.{match.group(1)}")
        return str(module.render())

    return _PLACEHOLDER.sub(render, markdown)
