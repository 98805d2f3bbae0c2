"""dprof in Jupyter: the ``%dprof`` / ``%%dprof`` magics, rich displays and plots.

``%load_ext dprof`` calls :func:`load_ipython_extension`, which registers the magics
(``dprof.jupyter.magics``). The HTML and text shown for a Profile or a StackProfile
are built in ``dprof.jupyter.display`` (the classes' ``_repr_html_`` and
``_repr_pretty_`` call it); ``plot_resources`` draws a profile's resource series with
matplotlib. Importing this package imports neither IPython nor matplotlib: each is
imported by the function that needs it.
"""
from __future__ import annotations

from dprof.jupyter.display import (flamegraph_iframe, profile_html, profile_text,
                                   stacks_html, stacks_text)
from dprof.jupyter.plot import plot_resources, resources_frame

__all__ = ["flamegraph_iframe", "load_ipython_extension", "plot_resources",
           "profile_html", "profile_text", "resources_frame", "stacks_html", "stacks_text"]


def load_ipython_extension(ipython) -> None:
    """Register ``%dprof`` and ``%%dprof`` with an IPython shell (``%load_ext dprof``)."""
    from dprof.jupyter import bench
    from dprof.jupyter.magics import DprofMagics
    ipython.register_magics(DprofMagics)
    bench.register(ipython)      # pytest benchmark results, by name (plugin optional)
