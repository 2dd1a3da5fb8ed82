"""One module per scenario; each returns rows for the report (bench/report.py)."""
