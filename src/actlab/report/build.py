"""Write the report: compute, draw, render, then move the finished files into place.

Everything is written into a temporary folder next to the output folder and moved into place
only when all of it succeeded, so a failure leaves nothing half-written. Inside an existing
output folder only the report's own files (``OUTPUTS``) are replaced; nothing is written outside
it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from actlab.errors import ActlabError
from actlab.fileio import current_umask
from actlab.report.compute import compute, stage_names
from actlab.report.config import ReportConfig, load_config
from actlab.report.document import build_document
from actlab.report.figures import FOLDER, draw_figures, figure_stage_names
from actlab.report.html import render_html
from actlab.report.progress import Stages
from actlab.report.typst import compile_pdf, render_typst

PDF, HTML, JSON, TYP = "report.pdf", "report.html", "results.json", "report.typ"
OUTPUTS = (PDF, HTML, JSON, TYP, FOLDER)
RENDER_STAGES = ("document", "results.json", "HTML", "PDF (typst)")


@dataclass(frozen=True)
class ReportFiles:
    """What was written, and the seconds each step took."""

    out: Path
    files: tuple[Path, ...]
    figures: tuple[Path, ...]
    seconds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {"out": str(self.out), "files": [str(f) for f in self.files],
                "figures": [str(f) for f in self.figures],
                "seconds": {k: round(v, 3) for k, v in self.seconds.items()}}


def check_output(out: str | os.PathLike[str]) -> Path:
    """The output folder, checked before any work: creatable (or a writable folder) whose own
    report files are not folders."""
    target = Path(out)
    if not str(out).strip():
        raise ActlabError("--out needs a folder name")
    parent = target.parent
    if target.exists() and not target.is_dir():
        raise ActlabError(f"cannot write the report to {target}: it is not a folder")
    if parent.exists() and not parent.is_dir():
        raise ActlabError(f"cannot write the report to {target}: {parent} is not a folder")
    if not parent.is_dir():
        raise ActlabError(f"cannot write the report to {target}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ActlabError(f"cannot write the report to {target}: folder {parent} is not writable")
    if target.is_dir():
        if not os.access(target, os.W_OK | os.X_OK):
            raise ActlabError(f"cannot write the report to {target}: it is not writable")
        for name in OUTPUTS:
            path = target / name
            if path.exists() and (path.is_dir() != (name == FOLDER) or path.is_symlink()):
                raise ActlabError(f"cannot write the report to {target}: {path} is in the way")
    return target


def _publishable(tmp: Path) -> None:
    """Give the finished files the modes any new file gets (the umask's), not the private
    0700/0600 of temporary files: the report is made to be handed in and published."""
    mask = current_umask()
    for path in (tmp, *tmp.rglob("*")):
        path.chmod((0o777 if path.is_dir() else 0o666) & ~mask)


def _install(tmp: Path, target: Path) -> None:
    """Move the finished files into place (one rename when the folder is new)."""
    if not target.exists():
        os.rename(tmp, target)
        return
    for name in (JSON, TYP, HTML, PDF):
        os.replace(tmp / name, target / name)
    old = target / FOLDER
    if old.exists():
        trash = Path(tempfile.mkdtemp(prefix=".figures-old-", dir=target))
        os.rename(old, trash / FOLDER)
        os.rename(tmp / FOLDER, old)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.rename(tmp / FOLDER, old)


def _render(config: ReportConfig, tmp: Path, stages: Stages, command: str) -> dict[str, str]:
    from actlab.cli.output import dumps

    results = compute(config, stages.stage)
    figures = draw_figures(results, tmp, stages.stage)
    with stages.stage("document"):
        doc = build_document(results, figures, command)
        (tmp / TYP).write_text(render_typst(doc), encoding="utf-8")
    with stages.stage("results.json"):
        (tmp / JSON).write_text(dumps(results.to_dict()) + "\n", encoding="utf-8")
    with stages.stage("HTML"):
        (tmp / HTML).write_text(render_html(doc, tmp), encoding="utf-8")
    with stages.stage("PDF (typst)"):
        (tmp / PDF).write_bytes(compile_pdf(tmp / TYP, tmp))
    return figures


def write_report(out: str | os.PathLike[str], config: ReportConfig | str | Path | None = None,
                 command: str | None = None, progress: bool | None = None) -> ReportFiles:
    """Compute the whole report and write report.pdf, report.html, results.json, report.typ
    and figures/ into ``out``. ``progress``: None shows a bar only when stderr is a terminal."""
    cfg = config if isinstance(config, ReportConfig) else load_config(config)
    target = check_output(out)
    command = command or f"actlab report --out {target}"
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name or 'report'}.tmp-",
                                    dir=target.parent))
    except OSError as error:
        raise ActlabError(f"cannot write the report to {target}: {error.strerror}") from None
    total = len(stage_names(cfg)) + len(figure_stage_names(cfg)) + len(RENDER_STAGES)
    try:
        with Stages(total, progress) as stages:
            figures = _render(cfg, tmp, stages, command)
        try:
            _publishable(tmp)
            _install(tmp, target)
        except OSError as error:
            raise ActlabError(f"cannot move the report into {target}: {error}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    files = tuple(target / name for name in (PDF, HTML, JSON, TYP))
    figure_files = tuple(target / path for path in figures.values())
    return ReportFiles(target, files, figure_files, stages.seconds)
