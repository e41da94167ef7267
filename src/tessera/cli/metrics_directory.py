"""Where the server's processes keep their metrics: a private directory per ``tessera serve``.

prometheus_client's multiprocess mode (ADR 0036): each worker writes its values to files in
``PROMETHEUS_MULTIPROC_DIR`` and a scrape, answered by any worker, adds them all up. The
variable must be set before a worker imports the library: the serve command sets it before
any worker starts, and the workers inherit it. The directory is new for every start (files of
an earlier run would be counted again) and only this user can read it; it is removed when the
server stops. A worker that ended is told to prometheus_client, so that gauges summed over live
processes stop counting it; its counters stay in the sums, as counters must.
"""

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from uvicorn.supervisors import Multiprocess

#: prometheus_client's variable (``tessera.metrics.catalogue.MULTIPROCESS_DIRECTORY``; not
#: imported from there: that would load prometheus_client in the supervising process).
VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


@contextmanager
def metrics_directory() -> Iterator[str]:
    """A new private directory, named in ``PROMETHEUS_MULTIPROC_DIR`` until the block ends."""
    directory = tempfile.mkdtemp(prefix="tessera-metrics-")  # mode 0700
    previous = os.environ.get(VARIABLE)
    os.environ[VARIABLE] = directory
    try:
        yield directory
    finally:
        if previous is None:
            os.environ.pop(VARIABLE, None)
        else:
            os.environ[VARIABLE] = previous
        shutil.rmtree(directory, ignore_errors=True)


class WorkerSupervisor(Multiprocess):
    """uvicorn's supervisor of workers, which also marks each worker that ended as dead."""

    def keep_subprocess_alive(self) -> None:
        before = self._pids()
        super().keep_subprocess_alive()
        self._mark_dead(before - self._pids())

    def restart_all(self) -> None:
        before = self._pids()
        super().restart_all()
        self._mark_dead(before - self._pids())

    def _pids(self) -> set[int]:
        return {process.pid for process in self.processes if process.pid is not None}

    def _mark_dead(self, pids: set[int]) -> None:
        if not pids:
            return
        from prometheus_client.multiprocess import mark_process_dead

        for pid in pids:
            mark_process_dead(pid, os.environ[VARIABLE])  # type: ignore[no-untyped-call]
