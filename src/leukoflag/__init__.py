"""leukoflag: HL7 v2 and FHIR lab results to FHIR, with WBC and ANC counts normalized to cells/µL
and leukopenia/neutropenia interpretation codes.

    >>> import leukoflag
    >>> conv = leukoflag.convert(data)            # bytes or str, HL7 v2 or FHIR JSON/NDJSON
    >>> conv.bundles, conv.findings, conv.issues, conv.rejected

PYTEST_DONT_REWRITE: leukoflag ships a pytest plugin (leukoflag.testing.plugin), so pytest marks
this package for assertion rewriting; the marker keeps it from warning when leukoflag was
imported before pytest started.
"""

from __future__ import annotations

from leukoflag._version import __version__
from leukoflag.api import Conversion, convert, convert_file
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
]
