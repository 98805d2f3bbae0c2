"""Prints how many docs examples ran and which were skipped (with the reasons)."""
import pytest


def pytest_terminal_summary(terminalreporter, config):
    from test_examples import _STATS
    stats = config.stash.get(_STATS, None)
    if not stats:
        return
    terminalreporter.write_sep("-", f"docs examples: {stats['run']} run, "
                                    f"{len(stats['skipped'])} skipped (marked)")
    for where, reason in stats["skipped"]:
        terminalreporter.write_line(f"  skipped {where}: {reason}")
