"""``actlab claims``: the seed document's statements, each checked by computation now."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from actlab.cli.app import JSON_HELP, app
from actlab.cli.output import emit_json, stdout
from actlab.errors import ActlabError


@app.command("claims")
def claims_command(
    norm: Annotated[str, typer.Option(help="Norm of the OAE distances the claims use: l2, linf "
                                           "or l1.")] = "l2",
    json_out: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Check the seed's factual statements against actlab's computed results."""
    from actlab.claims import ClaimsContext, check_claims
    from actlab.oae.polyhedron import NORMS

    if norm not in NORMS:
        raise ActlabError(f"--norm must be one of {', '.join(NORMS)}, not {norm!r}")
    report = check_claims(ClaimsContext(norm=norm))
    if json_out:
        emit_json(report.to_dict())
        return
    table = Table(title="The seed's claims, checked", show_lines=True)
    table.add_column("claim", max_width=48)
    table.add_column("verdict")
    table.add_column("evidence (computed now)", max_width=80)
    colour = {"holds": "green", "partly": "yellow", "does not hold": "red"}
    for claim in report.claims:
        table.add_row(claim.statement, f"[{colour[claim.verdict]}]{claim.verdict}[/]",
                      claim.evidence)
    stdout.print(table)
    counts = report.counts()
    stdout.print(", ".join(f"{v}: {n}" for v, n in counts.items()), highlight=False)
