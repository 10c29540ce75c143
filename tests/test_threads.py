"""BLAS runs single-threaded inside a metrics or impact run, however it is started."""

from __future__ import annotations

import numpy  # noqa: F401  (loaded first, as in a notebook: the env variables are then too late)
from threadpoolctl import threadpool_info, threadpool_limits

from analysis.impact.run import run_impact
from analysis.pipeline import run_metrics
from analysis.threads import single_threaded_blas


def _blas_threads() -> list[int]:
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]


def test_limit_applies_inside_and_is_restored_after() -> None:
    with threadpool_limits(limits=2, user_api="blas"):  # as on a 2-core machine
        before = _blas_threads()
        inside = single_threaded_blas(_blas_threads)()
        after = _blas_threads()
    assert inside and set(inside) == {1}
    assert after == before


def test_runs_are_wrapped() -> None:
    for run in (run_metrics, run_impact):
        assert run.__wrapped__.__name__ == run.__name__  # functools.wraps of the limit
