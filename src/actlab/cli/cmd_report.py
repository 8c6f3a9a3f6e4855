"""``actlab report``: the complete, verified homework solution as PDF, HTML and results.json."""

from __future__ import annotations

import shlex
from typing import Annotated

import typer

from actlab.cli.app import JSON_HELP, app
from actlab.cli.output import emit_json
from actlab.errors import ActlabError


@app.command("report")
def report_command(
    out: Annotated[str | None, typer.Option(
        "--out", help="Folder to write report.pdf, report.html, results.json, report.typ and "
        "figures/ into (created if missing; its parent must exist).")] = None,
    config: Annotated[str | None, typer.Option(
        "--config", help="TOML file with the homework's parameters (see --default-config); "
        "default: the homework as set.")] = None,
    default_config: Annotated[bool, typer.Option(
        "--default-config", help="Print the default configuration (TOML, every key documented) "
        "and exit.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Write the whole verified solution: activation regions, backpropagation, training,
    optimal adversarial examples, JumpReLU and the seed's claims."""
    from actlab.report import DEFAULT_TOML, load_config, write_report

    if default_config:
        if json_out:  # --json: stdout is one JSON document, here the defaults as data
            from actlab.report import default_config as defaults

            emit_json(defaults().to_dict())
        else:
            typer.echo(DEFAULT_TOML, nl=False)
        return
    if out is None:
        raise ActlabError("--out DIR is required (the folder to write the report into)")
    cfg = load_config(config)
    command = "actlab report --out " + shlex.quote(out)
    if config is not None:
        command += " --config " + shlex.quote(config)
    files = write_report(out, cfg, command=command)
    if json_out:
        emit_json(files.to_dict())
        return
    for path in files.files:
        typer.echo(f"wrote {path}")
    typer.echo(f"wrote {len(files.figures)} figures in {files.out / 'figures'}")
