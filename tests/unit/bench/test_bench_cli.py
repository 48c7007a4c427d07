"""Options of ./dev bench and how repeated runs are reduced to one row."""

from __future__ import annotations

import pytest

from bench import cli
from bench.context import median_run
from bench.results import Run


def test_defaults_bound_the_run() -> None:
    options = cli.parse([])
    assert (options.duration_s, options.repeat, options.many_pending) == (5.0, 1, 1_000_000)
    assert all(options.wants(group) for group in cli.GROUPS)


def test_quick_is_short_and_small() -> None:
    options = cli.parse(["--quick", "--only", "services", "--only", "redis"])
    assert options.duration_s == 2.0 and options.many_pending == 20_000
    assert options.wants("services") and options.wants("redis")
    assert not options.wants("monolith")


def test_explicit_values_win_over_quick() -> None:
    options = cli.parse(["--quick", "--duration", "7", "--pending", "5000", "--repeat", "3"])
    assert (options.duration_s, options.many_pending, options.repeat) == (7.0, 5000, 3)


def test_the_bulk_is_loaded_in_version_3_unless_asked() -> None:
    assert cli.parse([]).storage_version == 3
    assert cli.parse(["--storage-version", "2"]).storage_version == 2


@pytest.mark.parametrize("argv", [["--duration", "0"], ["--repeat", "0"], ["--only", "nope"],
                                  ["--storage-version", "1"]])
def test_bad_options_are_refused(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        cli.parse(argv)


def test_median_run_keeps_every_rate() -> None:
    runs = [Run("services", "send", 100 * rps, rps, 1.0, 2.0, 0.5, 0.1) for rps in (30, 10, 20)]
    chosen = median_run(runs)
    assert chosen.rps == 20 and chosen.rps_samples == (30, 10, 20)
