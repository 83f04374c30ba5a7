"""Placeholder: replaced by the examples work (issue 7)."""
