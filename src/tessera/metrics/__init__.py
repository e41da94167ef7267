"""Prometheus metrics: what is measured (``catalogue``), and the sampler that copies the state of
the caches, the change feed, the hashing pool, the rate limiter and the database pools into it.

Imported by the server only (``prometheus_client`` alone costs a command 70 ms: ADR 0022).
"""
