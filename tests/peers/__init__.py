"""Run other projects' own test suites through batchimg.

scipy.ndimage's, scikit-image's and dask-image's test files are taken, at test time,
from the installed package or the source distribution of the installed version,
copied into a temporary folder and run twice in a pytest subprocess: as they are,
and with their imports of the mirrored namespaces rewritten so that every function
batchimg offers by the same name is batchimg's (:mod:`peers.swap`). The outcomes are
compared per test id (:mod:`peers.harness`): a test that passes with the original
and not through batchimg fails our suite unless it is listed in
:mod:`peers.excepted` (reviewed exceptions, each with its reason) or in
:mod:`peers.known_failures` (what batchimg does not pass yet; strict: an entry that
starts passing fails too, so the list cannot go stale).

``python tests/peers/report.py`` writes the summary of every suite as Markdown.
"""
