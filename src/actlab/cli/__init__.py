"""The ``actlab`` command line: thin wrappers that parse, call the library, print or emit JSON.

Each ``cmd_*.py`` module registers its commands on ``actlab.cli.app.app``.
"""
