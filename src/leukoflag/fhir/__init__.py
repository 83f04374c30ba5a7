"""FHIR writer (Bundles as plain dicts) and reader (Observation, Bundle, NDJSON; flag in place).

Contract used by :mod:`leukoflag.api` (keep these signatures):

* ``write_bundle(message: Message, evaluations: Mapping[str, Evaluation], settings: Settings)
  -> tuple[dict[str, Any], tuple[Issue, ...]]``
* ``read_items(stream: BinaryIO, *, source: str, settings: Settings) -> Iterator[FhirItem | Rejected]``
  where ``FhirItem`` has ``index``, ``source``, ``raw`` (bytes), ``location`` (``ITEM[n]``),
  ``groups: tuple[PatientResult, ...]`` and ``issues: tuple[Issue, ...]``.
* ``flag_in_place(item: FhirItem, evaluations: Mapping[str, Evaluation], settings: Settings)
  -> tuple[dict[str, Any], tuple[Issue, ...]]``
* ``validate(resource: dict[str, Any], fhir_version: str) -> list[str]`` — fhir.resources check of
  every resource (entries validated one by one); empty list when valid.
"""
