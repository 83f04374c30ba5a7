"""The exception tree: everything leukoflag raises is a :class:`Error` and a fitting builtin.

    Error
    ├── SettingsError(Error, ValueError)   a Settings value is out of its domain
    ├── UnitError(Error, ValueError)       a count cannot be expressed in cells/µL
    ├── DataFileError(Error, RuntimeError) a packaged data table is malformed (a packaging bug)
    └── ReadError(Error, OSError)          an input file cannot be opened or read

Bad *messages* never raise: :func:`leukoflag.convert` turns them into ``Rejected`` entries and
``Issue`` records. Exceptions are for programming and environment errors only.
"""

from __future__ import annotations

__all__ = ["DataFileError", "Error", "ReadError", "SettingsError", "UnitError"]


class Error(Exception):
    """Base class of every exception leukoflag raises on purpose."""


class SettingsError(Error, ValueError):
    """A :class:`leukoflag.Settings` field holds a value outside its domain."""


class UnitError(Error, ValueError):
    """A value and unit cannot be normalized to cells/µL for the given analyte.

    ``spelling`` is the unit as written, ``reason`` a short machine code
    (``unknown-unit``, ``percent``, ``wrong-analyte``, ``implausible``, ``no-unit``,
    ``wrong-dimension``, ``bad-number``).
    """

    def __init__(self, message: str, *, spelling: str = "", reason: str = "") -> None:
        super().__init__(message)
        self.spelling = spelling
        self.reason = reason


class DataFileError(Error, RuntimeError):
    """A packaged data file (unit aliases, analyte codes, rules, v2 tables) is malformed."""


class ReadError(Error, OSError):
    """An input path cannot be opened or read."""
