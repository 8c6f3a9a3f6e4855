"""``actlab regions``: exact gradient regions of activations, as tables, JSON or a figure."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from actlab.activations import HOMEWORK_SPECS, Breakpoint
from actlab.cli.app import JSON_HELP, app
from actlab.cli.output import emit_json, note, stdout
from actlab.regions import REGIONS, RegionResult, RegionsReport, format_boundary, regions_report


def _legend(report: RegionsReport) -> str:
    """The four regions' conditions under the report's thresholds."""
    fast = format_boundary(report.thresholds.fast)
    slow = format_boundary(report.thresholds.slow)
    return (f"fast: |f'| > {fast}   active: {slow} <= |f'| <= {fast}   "
            f"slow: 0 < |f'| < {slow}   inactive: f' = 0")


def _breakpoint_text(b: Breakpoint) -> str:
    x = format_boundary(b.x)
    jump = (f" (f jumps from {format_boundary(b.left_value)} to "
            f"{format_boundary(b.right_value)})" if b.jump else "")
    return (f"x = {x}: f'({x}-) = {format_boundary(b.left_derivative)}, "
            f"f'({x}+) = {format_boundary(b.right_derivative)}; "
            f"used f'({x}) = {format_boundary(b.derivative_used)}{jump}")


def _table(result: RegionResult) -> Table:
    """One activation: each region's intervals, max |f'|, breakpoints, tail argument."""
    act = result.activation
    title = act.spec if not act.formula else f"{act.spec}    f(x) = {act.formula}"
    table = Table(title=title, title_justify="left")
    table.add_column("region", no_wrap=True)
    table.add_column("intervals (6 significant digits)", overflow="fold")
    for region in REGIONS:
        intervals = result.region(region)
        table.add_row(region, " U ".join(i.text() for i in intervals) if intervals else "none")
    table.add_row("max |f'|", result.max_abs.text(), end_section=True)
    points = [_breakpoint_text(b) for b in result.breakpoints] or ["none"]
    table.add_row("kinks, jumps", "\n".join(points))
    table.add_row("tails", result.tail)
    return table


def _print_report(report: RegionsReport) -> None:
    stdout.print(_legend(report), highlight=False)
    stdout.print()
    for result in report.results:
        stdout.print(_table(result), highlight=False)
        stdout.print()


@app.command("regions")
def regions(
    act: Annotated[list[str] | None, typer.Option(
        "--act", help="Activation spec, repeatable (default: the homework's six).")] = None,
    fast: Annotated[float, typer.Option(help="Fast if |f'| > FAST.")] = 0.99,
    slow: Annotated[float, typer.Option(help="Slow if 0 < |f'| < SLOW.")] = 0.01,
    plot: Annotated[str | None, typer.Option(
        help="Write f, f' and the regions to FILE (.png, .svg or .pdf).")] = None,
    x_range: Annotated[str, typer.Option(
        "--range", help="Plotted range LO,HI.")] = "-5,5",
    json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Exact gradient regions (fast, active, slow, inactive) over the whole real line."""
    from actlab.figures.regions import check_figure_path, parse_range, plot_regions

    bounds = parse_range(x_range)
    if plot is not None:
        check_figure_path(plot)
    report = regions_report(act or HOMEWORK_SPECS, fast=fast, slow=slow)
    if plot is not None:
        plot_regions(report.results, plot, bounds)
    if json:
        emit_json(report)
        return
    _print_report(report)
    if plot is not None:
        note(f"wrote {plot}")
