"""What batchimg does not pass yet in the peers' suites: test id -> short cause.

THE list to shrink. When a change makes a test pass, delete its entry: the harness
fails on an entry whose test passes through batchimg (like a strict xfail), so the
list cannot go stale. The goal is an empty list; a failure that is a genuine,
reviewed exception belongs in :mod:`peers.excepted`, with its reason.

Ids are relative to the suite's test folder, as pytest prints them; a cause reads
``<batchimg functions>: <what differs>`` (``python tests/peers/report.py`` groups
them). The first version of this file was written by
``python tests/peers/report.py --write-known-failures``.
"""
# ruff: noqa: E501

KNOWN_FAILURES: dict[str, dict[str, str]] = {
    "scipy.ndimage": {},
    "scikit-image": {},
    "dask-image": {},
}

#: scipy.ndimage's public filters, morphology and measurements functions that
#: batchimg does not offer yet: name -> scipy module.
MISSING_FUNCTIONS: dict[str, str] = {}
