"""What the ``pytest11`` entry point ``leukoflag`` loads: the plugin's fixtures, re-exported.

The entry point names this module, not :mod:`leukoflag.testing.plugin`, so a project that also
names the plugin module (``pytest_plugins = ["leukoflag.testing.plugin"]`` in a conftest, or
``-p leukoflag.testing.plugin``, as runs without plugin autoload need) registers that module
beside this one: pytest refuses to register one module under two names and stops the run.
"""

from __future__ import annotations

from leukoflag.testing.plugin import hl7_message_builder, leukoflag_convert, leukoflag_settings

__all__ = ["hl7_message_builder", "leukoflag_convert", "leukoflag_settings"]
