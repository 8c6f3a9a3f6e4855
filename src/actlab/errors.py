"""The one exception type that reaches users as a single clear line (CLI exit status 2)."""


class ActlabError(ValueError):
    """Bad input from the user: a spec, a file, a parameter or an option.

    The CLI prints ``actlab: error: <message>`` on stderr and exits with status 2.
    """
