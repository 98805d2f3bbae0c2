"""dprof's pytest plugin: benchmarks with resource profiles and a noise-aware gate.

Registered through the ``pytest11`` entry point (``dprof = dprof.pytest_plugin.plugin``).
Files: ``plugin.py`` (options, marker, fixture, session hooks, xdist),
``fixture.py`` (measuring one benchmark), ``calibration.py`` (rounds and
iterations), ``stats.py`` (Mann-Whitney U, bootstrap intervals), ``gate.py``
(``--dprof-fail`` decisions), ``storage.py`` (runs in ProfileRepo), ``report.py``
(terminal table, comparison, JSON), ``result.py`` (the data passed between them).
See ``docs/pytest-plugin.md``.

Importing this package imports nothing heavy; numpy, the recorder and the
repository are imported when a test uses the fixture or an option asks for them.
"""
