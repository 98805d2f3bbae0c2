"""Insights over the stored history: regressions and improvements, leaks and drift,
right-sizing, cost, and where a task's time goes. See ``docs/insights.md``.

Each analysis is a function of a ProfileRepo (or a DataFrame from
``ProfileRepo.query``) with the repo's filters, returning a DataFrame:

    regressions(repo, process=..., stage=..., env=..., since=...)
    drift(repo, ...)          rightsizing(repo, ...)
    cost(repo, ..., prices=load_prices("prices.json"), per="month")
    where_to_look(repo, ...)

``report(repo, ...)`` runs them all over one load of the history and returns an
:class:`InsightsReport` (text, JSON, Kubernetes and Compose blocks, HTML, and
``_repr_html_`` for Jupyter).

Files: ``history.py`` (reading the repo), ``changepoints.py`` + ``changes.py``,
``leaks.py`` (drift), ``sizing.py``, ``prices.py`` + ``costs.py``, ``wheretolook.py``,
``runner.py`` (the report), ``render_text.py``, ``render_html.py``, ``manifests.py``.
"""
from dprof.insights.changepoints import ChangePoint, detect
from dprof.insights.costs import cost
from dprof.insights.leaks import drift, theil_sen
from dprof.insights.prices import Prices
from dprof.insights.prices import load as load_prices
from dprof.insights.changes import regressions
from dprof.insights.sizing import rightsizing
from dprof.insights.runner import InsightsReport, report
from dprof.insights.wheretolook import where_to_look

__all__ = ["ChangePoint", "InsightsReport", "Prices", "cost", "detect", "drift",
           "load_prices", "regressions", "report", "rightsizing", "theil_sen",
           "where_to_look"]
