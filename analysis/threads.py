"""One BLAS thread while a run fits its many small models, however the run is started.

The statsmodels fits are many and small (thousands of 2x2 GLMs, bootstrap batches):
on a small machine BLAS threads only contend with polars' own thread pool (skill gaps
ran 5-10x slower under load with the default threads, benchmarks/README.md). The CLI
sets ``OPENBLAS_NUM_THREADS`` before numpy loads; a notebook or script calling
:func:`analysis.pipeline.run_metrics` has usually loaded numpy already, so the limit
is applied to the loaded libraries with threadpoolctl for the duration of the call,
and restored after.

Examples
--------
>>> @single_threaded_blas
... def fit() -> int:
...     from threadpoolctl import threadpool_info
...     return max((i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"),
...                default=1)
>>> fit()
1
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

_P = ParamSpec("_P")
_R = TypeVar("_R")


def single_threaded_blas(func: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run ``func`` with every loaded BLAS library limited to one thread."""

    @functools.wraps(func)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        # load numpy's and scipy's BLAS now: the limit only reaches loaded libraries
        import numpy  # noqa: F401
        import scipy.linalg  # noqa: F401
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1, user_api="blas"):
            return func(*args, **kwargs)

    return wrapper
