"""Entry point: run the typer app; bad input becomes one line on stderr and exit status 2."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import typer

import actlab.cli
from actlab.cli.app import app
from actlab.errors import ActlabError

for _module in pkgutil.iter_modules(actlab.cli.__path__):
    if _module.name.startswith("cmd_"):
        importlib.import_module(f"actlab.cli.{_module.name}")

EXIT_BAD_INPUT = 2


def _fail(message: str) -> int:
    line = " ".join(str(message).split())
    sys.stderr.write(f"actlab: error: {line}\n")
    return EXIT_BAD_INPUT


def run(argv: list[str] | None = None) -> int:
    """Run the CLI on ``argv`` and return the exit status (no SystemExit)."""
    command = typer.main.get_command(app)
    try:
        result = command.main(args=argv, prog_name="actlab", standalone_mode=False)
    except typer.TyperException as error:  # usage errors: bad option, bad value, no such command
        if type(error).__name__ == "NoArgsIsHelpError":
            sys.stdout.write(error.ctx.get_help() + "\n")  # type: ignore[attr-defined]
            return 0
        return _fail(error.format_message())
    except ActlabError as error:
        return _fail(str(error))
    except typer.Exit as error:
        return error.exit_code
    except (typer.Abort, KeyboardInterrupt):
        sys.stderr.write("actlab: interrupted\n")
        return 130
    except BrokenPipeError:
        return 0
    return result if isinstance(result, int) else 0


def main() -> None:
    """Console-script entry point."""
    sys.exit(run())
