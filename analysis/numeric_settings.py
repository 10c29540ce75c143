"""Process settings for a run's many small numeric fits, however the run is started.

Two settings, applied for the duration of the call and restored after:

- **One BLAS thread.** The statsmodels fits are many and small (thousands of 2x2 GLMs,
  bootstrap batches): on a small machine BLAS threads only contend with polars' own
  thread pool (skill gaps ran 5-10x slower under load with the default threads,
  benchmarks/README.md). The CLI sets ``OPENBLAS_NUM_THREADS`` before numpy loads; a
  notebook or script calling :func:`analysis.pipeline.run_metrics` has usually loaded
  numpy already, so the limit is applied to the loaded libraries with threadpoolctl.
- **No transparent-huge-page advice from numpy.** numpy asks the kernel for huge pages
  for every array of 4 MiB or more. The fatigue statistics allocate and free hundreds
  of short-lived arrays of tens of MiB; with the common kernel default
  (``transparent_hugepage=madvise``) each one is faulted in as fresh huge pages, and the
  fatigue stage at 15M activities took 6.7-9.2 s against 5.2-6.0 s without the advice
  (benchmarks/README.md, 2026-12-01, round four). The kernel still backs memory with
  huge pages where its own policy says so.

Examples
--------
>>> @numeric_run_settings
... def fit() -> int:
...     from threadpoolctl import threadpool_info
...     return max((i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"),
...                default=1)
>>> fit()
1
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

_P = ParamSpec("_P")
_R = TypeVar("_R")

# The huge-page advice is one switch for the whole process: runs that overlap (threads,
# nested calls) share it, and the last one out restores what the first one found.
_advice_lock = threading.Lock()
_advice_users = 0
_advice_before: bool | None = None


def numeric_run_settings(func: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run ``func`` with one BLAS thread and without numpy's huge-page advice."""

    @functools.wraps(func)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        # load numpy's and scipy's BLAS now: the limit only reaches loaded libraries
        import numpy
        import scipy.linalg  # noqa: F401
        from threadpoolctl import threadpool_limits

        with _no_huge_page_advice(numpy), threadpool_limits(limits=1, user_api="blas"):
            return func(*args, **kwargs)

    return wrapper


@contextmanager
def _no_huge_page_advice(numpy: object) -> Iterator[None]:
    global _advice_users, _advice_before
    advise = _huge_page_switch(numpy)
    with _advice_lock:
        if advise is not None and _advice_users == 0:
            _advice_before = advise(False)
        _advice_users += 1
    try:
        yield
    finally:
        with _advice_lock:
            _advice_users -= 1
            if advise is not None and _advice_users == 0 and _advice_before is not None:
                advise(_advice_before)
                _advice_before = None


def _huge_page_switch(numpy: object) -> Callable[[bool], bool] | None:
    """numpy's setter of its huge-page advice (returns the previous value), if it has one.

    Not public API (numpy reads ``NUMPY_MADVISE_HUGEPAGE`` only at import), so looked up
    defensively: without it the run is merely slower on some kernels.
    """
    core = getattr(numpy, "_core", None) or getattr(numpy, "core", None)
    return getattr(getattr(core, "multiarray", None), "_set_madvise_hugepage", None)
