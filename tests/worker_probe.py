"""A local worker process's initializer for tests: record the modules its tasks import.

It lives in a module of its own, importing only the standard library, so the
worker's record starts from what batchimg's worker server preloaded.
"""

from __future__ import annotations

import os
import sys


def record_imports(folder: str) -> None:
    """At this worker's exit, write the modules imported since now to ``folder/PID.txt``."""
    from multiprocessing import util

    before = set(sys.modules)

    def dump() -> None:
        with open(os.path.join(folder, f"{os.getpid()}.txt"), "w") as f:
            f.write("\n".join(sorted(set(sys.modules) - before)))

    util.Finalize(None, dump, exitpriority=10)
