"""Use cases: the rules of Tessera applied to stored data.

May import: tessera.core, tessera.store, and libraries that speak neither HTTP nor a
terminal. Each public method is one use case and one transaction (ADR 0005): it has committed
before it returns, so an adapter never answers for a change that did not happen.
"""
