"""leukoflag: HL7 v2 and FHIR lab results to FHIR, with WBC and ANC counts normalized to cells/µL
and leukopenia/neutropenia interpretation codes.

    >>> import leukoflag
    >>> conv = leukoflag.convert(data)            # bytes or str, HL7 v2 or FHIR JSON/NDJSON
    >>> conv.bundles, conv.findings, conv.issues, conv.rejected
    >>> for outcome in leukoflag.iter_file(path):  # a large file, one item at a time
    ...     outcome.output or outcome.rejected
    >>> leukoflag.iter_convert(stream)               # the same for a binary stream (or content)

PYTEST_DONT_REWRITE: leukoflag ships a pytest plugin (leukoflag.testing.plugin), so pytest marks
this package for assertion rewriting; the marker keeps it from warning when leukoflag was
imported before pytest started.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from leukoflag._lazy import lazy_attributes
from leukoflag._version import __version__

if TYPE_CHECKING:
    from leukoflag.api import (
        Conversion,
        Outcome,
        convert,
        convert_file,
        iter_convert,
        iter_file,
    )
    from leukoflag.errors import DataFileError, Error, ReadError, SettingsError, UnitError
    from leukoflag.model import Finding, Issue, Rejected, Severity
    from leukoflag.settings import Settings
    from leukoflag.units import count_per_ul

__all__ = [
    "Conversion",
    "DataFileError",
    "Error",
    "Finding",
    "Issue",
    "Outcome",
    "ReadError",
    "Rejected",
    "Settings",
    "SettingsError",
    "Severity",
    "UnitError",
    "__version__",
    "convert",
    "convert_file",
    "count_per_ul",
    "iter_convert",
    "iter_file",
]

# Every name is imported on first use, so `import leukoflag` and `leukoflag --help` stay fast.
_LAZY = {
    "Conversion": "leukoflag.api",
    "DataFileError": "leukoflag.errors",
    "Error": "leukoflag.errors",
    "Finding": "leukoflag.model",
    "Issue": "leukoflag.model",
    "Outcome": "leukoflag.api",
    "ReadError": "leukoflag.errors",
    "Rejected": "leukoflag.model",
    "Settings": "leukoflag.settings",
    "SettingsError": "leukoflag.errors",
    "Severity": "leukoflag.model",
    "UnitError": "leukoflag.errors",
    "convert": "leukoflag.api",
    "convert_file": "leukoflag.api",
    "count_per_ul": "leukoflag.units",
    "iter_convert": "leukoflag.api",
    "iter_file": "leukoflag.api",
}


if not TYPE_CHECKING:  # type checkers see the imports above; the names resolve on first use
    __getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals(), __all__)
