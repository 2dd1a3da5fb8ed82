"""`make bench`: the portal on its production profile under load, one table of figures.

Entry point: `python -m bench.run` (bench/run.py). See docs/benchmarks.md.
"""
