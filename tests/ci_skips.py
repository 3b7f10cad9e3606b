"""A pytest plugin: where the CI environment variable is set, a skipped test fails instead.

CI installs everything the tests need (Chromium, Debian's Fashion-MNIST), so a skip there means a
test that never ran, and a line in the summary is easy to miss. xfail stays xfail.
"""

from __future__ import annotations

import os

import pytest

CI_ENV = "CI"


def skips_fail() -> bool:
    """Whether this run is CI's: $CI set to anything but empty, 0, false or no."""
    return os.environ.get(CI_ENV, "").strip().lower() not in ("", "0", "false", "no")


def _as_failure(report, what: str) -> None:
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    reason = reason.removeprefix("Skipped: ")
    report.outcome = "failed"
    where = f"{CI_ENV}={os.environ[CI_ENV]}"
    report.longrepr = f"{what} skipped under {where}, where every test must run: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail") and skips_fail():
        _as_failure(report, "test")


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and skips_fail():  # e.g. pytest.importorskip at the top of a module
        _as_failure(report, "module")
