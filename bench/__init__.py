"""Benchmarks of the cutover against the peer tools, on the sandbox (not part of the tests).

`python -m bench.run --help` (or `invoke bench --env=sandbox`) runs them and writes
bench/RESULTS.md.  See bench/README.md.
"""
