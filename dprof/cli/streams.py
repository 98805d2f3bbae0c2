"""The command line's output streams: a character they cannot encode is escaped.

A profile can hold names that are not valid Unicode text (a lone surrogate: a script
whose path was not UTF-8, a hand-edited file). Python's stdout raises
UnicodeEncodeError on one; stderr already escapes it. Every verb prints through
streams that escape (``\\udce9``) instead, so that printing a profile never fails.
"""
from __future__ import annotations

import io
import sys


def escape_unencodable() -> None:
    """Make sys.stdout and sys.stderr write ``\\uXXXX`` for what they cannot encode."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name, None)
        if isinstance(stream, io.TextIOWrapper) and stream.errors == "strict":
            try:
                stream.reconfigure(errors="backslashreplace")
            except (ValueError, io.UnsupportedOperation):    # closed, or not reconfigurable
                pass
