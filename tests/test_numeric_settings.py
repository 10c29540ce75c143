"""A metrics or impact run fits with one BLAS thread and without numpy's huge-page advice,
however it is started, and leaves the process as it found it."""

from __future__ import annotations

import contextlib
import threading

import numpy  # loaded first, as in a notebook: the env variables are then too late
from threadpoolctl import threadpool_info, threadpool_limits

from analysis.impact.run import run_impact
from analysis.numeric_settings import _huge_page_switch, numeric_run_settings
from analysis.pipeline import run_metrics


def _blas_threads() -> list[int]:
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]


def test_blas_limit_applies_inside_and_is_restored_after() -> None:
    with threadpool_limits(limits=2, user_api="blas"):  # as on a 2-core machine
        before = _blas_threads()
        inside = numeric_run_settings(_blas_threads)()
        after = _blas_threads()
    assert inside and set(inside) == {1}
    assert after == before


def _huge_page_advice() -> bool:
    switch = _huge_page_switch(numpy)
    assert switch is not None  # the pinned numpy has it: a rename upstream must fail here
    previous = switch(True)
    switch(previous)
    return previous


def test_huge_page_advice_is_off_inside_and_restored_after() -> None:
    switch = _huge_page_switch(numpy)
    assert switch is not None
    for setting in (True, False):
        original = switch(setting)
        try:
            assert numeric_run_settings(_huge_page_advice)() is False
            assert _huge_page_advice() is setting
        finally:
            switch(original)


def test_restored_when_the_run_fails() -> None:
    switch = _huge_page_switch(numpy)
    assert switch is not None
    original = switch(True)

    def fails() -> None:
        raise RuntimeError("boom")

    try:
        with contextlib.suppress(RuntimeError):
            numeric_run_settings(fails)()
        assert _huge_page_advice() is True
    finally:
        switch(original)


def test_runs_are_wrapped() -> None:
    for run in (run_metrics, run_impact):
        assert run.__wrapped__.__name__ == run.__name__  # functools.wraps of the settings


def test_overlapping_runs_restore_the_advice_when_the_last_one_ends() -> None:
    """Two runs in threads, the first ending while the second still fits: the advice
    stays off until the second ends, then comes back as the first run found it."""
    switch = _huge_page_switch(numpy)
    assert switch is not None
    original = switch(True)
    first_in, second_in, first_done = threading.Event(), threading.Event(), threading.Event()
    seen: dict[str, bool] = {}

    def first() -> None:
        first_in.set()
        second_in.wait(5)

    def second() -> None:
        second_in.set()
        first_done.wait(5)
        seen["second, after the first ended"] = _huge_page_advice()

    try:
        a = threading.Thread(target=numeric_run_settings(first))
        b = threading.Thread(target=numeric_run_settings(second))
        a.start()
        first_in.wait(5)
        b.start()
        a.join(5)
        first_done.set()
        b.join(5)
        assert seen == {"second, after the first ended": False}
        assert _huge_page_advice() is True
    finally:
        switch(original)
