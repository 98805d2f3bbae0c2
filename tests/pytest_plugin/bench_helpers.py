"""Helpers shared by the plugin's tests (imported by name: pytest puts this
directory on sys.path)."""


def plugin_output(res) -> str:
    """A session's output without pytest's own header line naming the installed
    plugins ("plugins: dprof-0.1.0, ..."), which says nothing of what dprof printed."""
    return "\n".join(line for line in res.stdout.lines
                     if not line.startswith("plugins:"))
