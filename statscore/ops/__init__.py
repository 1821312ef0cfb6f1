"""Operating a run: estimates, usage, status and reports."""
