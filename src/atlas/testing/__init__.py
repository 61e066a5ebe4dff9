"""Conformance suites of every pluggable interface, for ATLAS's own backends and outside ones.

Each module holds one suite: a class of pytest tests that a backend's test file subclasses,
naming how to build the backend, as ``optuna.testing`` ships its storage tests::

    from atlas.testing.online_store import OnlineStoreConformance

    class TestMyStore(OnlineStoreConformance):
        def make_store(self, tmp_path):
            return MyStore.from_url(...)

Suites: ``database`` (the metadata database), ``artifacts`` (the artifact store),
``online_store``, ``flavor`` (model formats), ``learner`` (AutoML learners), ``connector``
(external data). Importing this package imports none of them (they need pytest).
"""
