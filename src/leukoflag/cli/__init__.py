"""The ``leukoflag`` command."""
