"""Scope, reference ranges, interpretation codes, CTCAE grades and findings.

Contract used by :mod:`leukoflag.api` (keep these signatures):

* ``patient_context(patient: Patient | None, settings: Settings) -> PatientContext``
* ``evaluate_order(order: Order, context: PatientContext, settings: Settings, *,
  fallback_day: datetime.date | None = None) -> tuple[Evaluation, ...]`` — one Evaluation per
  ``order.results`` item in the same order, then any derived ANC evaluations.
"""
