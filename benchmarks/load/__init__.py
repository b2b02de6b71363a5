"""The example project under load: gunicorn, PostgreSQL, Redis and locust, then invariants read from the
database. Run ``python -m benchmarks.load`` from the repository root (``benchmarks/README.md``)."""
