"""The one exception type of the command line."""


class CliError(Exception):
    """A user error: printed as one line naming what was wrong, exit code 2."""
