"""Reports and exports of a StackProfile: every one is a pure function of the profile.

Terminal text: ``render_hotspots``, ``render_calltree``; data: ``hotspots``,
``function_hotspots``, ``build_tree``; files: ``flamegraph_svg``, ``diff_flamegraph_svg``,
``html_report``, ``to_speedscope``, ``to_chrome_trace``, ``to_collapsed``, ``to_pprof``;
and ``write(profile, path)``, which picks the format from the file name.
"""
from __future__ import annotations

import json
import os
from typing import Callable, Dict, Optional, Tuple, Union

from dprof.report.calltree import render_calltree
from dprof.report.exporters import to_chrome_trace, to_collapsed, to_pprof, to_speedscope
from dprof.report.flamegraph_svg import diff_flamegraph_svg, flamegraph_svg
from dprof.report.hotspots import (FunctionHotspot, LineHotspot, function_hotspots,
                                   hotspots, render_hotspots)
from dprof.report.html import html_report
from dprof.report.tree import Node, build_tree
from dprof.stacks.model import StackProfile


def _json(make: Callable[..., dict]) -> Callable[..., str]:
    return lambda profile, **options: json.dumps(make(profile, **options),
                                                 separators=(",", ":"))


# format name -> function returning str or bytes
FORMATS: Dict[str, Callable[..., Union[str, bytes]]] = {
    "html": html_report,
    "svg": flamegraph_svg,
    "speedscope": _json(to_speedscope),
    "chrome": _json(to_chrome_trace),
    "collapsed": to_collapsed,
    "pprof": to_pprof,
}

# file-name endings, longest first so ".speedscope.json" wins over ".json"
EXTENSIONS: Tuple[Tuple[str, str], ...] = (
    (".speedscope.json", "speedscope"),
    (".trace.json", "chrome"),
    (".pb.gz", "pprof"),
    (".collapsed", "collapsed"),
    (".html", "html"),
    (".htm", "html"),
    (".svg", "svg"),
    (".json", "chrome"),
    (".txt", "collapsed"),
)


def format_for_path(path: Union[str, os.PathLike]) -> str:
    """The format name implied by a file name's ending."""
    name = os.fspath(path).lower()
    for ending, fmt in EXTENSIONS:
        if name.endswith(ending):
            return fmt
    known = ", ".join(e for e, _ in EXTENSIONS)
    raise ValueError(f"cannot tell the report format from {os.fspath(path)!r}; "
                     f"use one of the endings {known} or pass format= one of {sorted(FORMATS)}")


def write(profile: StackProfile, path: Union[str, os.PathLike],
          format: Optional[str] = None, **options) -> str:
    """Write ``profile`` to ``path`` in ``format`` (default: from the file name's ending:
    .html, .svg, .speedscope.json, .trace.json / .json, .collapsed / .txt, .pb.gz).
    Extra keyword arguments go to the format's function. Returns the format used."""
    fmt = format or format_for_path(path)
    make = FORMATS.get(fmt)
    if make is None:
        raise ValueError(f"unknown report format {fmt!r}; expected one of {sorted(FORMATS)}")
    content = make(profile, **options)
    if isinstance(content, bytes):
        with open(path, "wb") as fh:
            fh.write(content)
    else:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(content)
    return fmt


__all__ = ["FORMATS", "EXTENSIONS", "FunctionHotspot", "LineHotspot", "Node", "build_tree",
           "diff_flamegraph_svg", "flamegraph_svg", "format_for_path", "function_hotspots",
           "hotspots", "html_report", "render_calltree", "render_hotspots", "to_chrome_trace",
           "to_collapsed", "to_pprof", "to_speedscope", "write"]
