"""The exceptions of dprof.algorithms; all are ValueErrors, so that a caller who
validates input with ``except ValueError`` catches them, and the CLI turns each into
one line and exit status 2."""
from __future__ import annotations

__all__ = ["AlgorithmError", "UnknownAlgorithmError", "BadResultError", "RunawayError"]


class AlgorithmError(ValueError):
    """Something about an algorithm or a comparison's arguments is wrong."""


class UnknownAlgorithmError(AlgorithmError, KeyError):
    """No algorithm of that name is registered (the message lists the known ones)."""

    def __str__(self) -> str:          # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class BadResultError(AlgorithmError):
    """An algorithm returned something that is not a sorted permutation of its input,
    or counts that are not a dict of str -> non-negative int."""


class RunawayError(AlgorithmError):
    """A run was refused: it is predicted to take longer than the time limit."""
