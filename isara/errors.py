"""The one error type stages turn into a clean one-line message."""


class IsaraError(Exception):
    """Bad input or configuration: the message names the file, line and field at fault."""
