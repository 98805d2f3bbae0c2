"""argparse types for numbers with a range: the value, or an error naming the range.

One factory instead of a parse-and-check function per option, so every verb words its
range errors the same way ("must be ... from LOW to HIGH, got TEXT")."""
from __future__ import annotations

import argparse
from typing import Callable


def number_in(low: float, high: float, what: str, *, open_ends: bool = False
              ) -> Callable[[str], float]:
    """A type that takes a float in [low, high] ((low, high) with ``open_ends``);
    ``what`` words the range in the error, e.g. "a percentage from 0 to 100"."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}")
        inside = low < value < high if open_ends else low <= value <= high
        if not inside:
            raise argparse.ArgumentTypeError(f"must be {what}, got {text}")
        return value
    return parse
