"""Shared figure plumbing: the accepted formats and the atomic save."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from actlab.errors import ActlabError
from actlab.fileio import atomic_write

FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}


def figure_format(path: str | Path) -> str:
    """The matplotlib format for ``path``'s suffix; ActlabError for anything else."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise ActlabError(f"cannot write a figure to {path}: use a .png, .svg or .pdf file name")
    return FORMATS[suffix]


# no creation dates or random ids, so the same result gives the same file, byte for byte
METADATA = {"png": {"Software": None}, "svg": {"Date": None, "Creator": None},
            "pdf": {"CreationDate": None, "Creator": None, "Producer": None}}


def save_figure(fig: Figure, path: str | Path, dpi: int = 150) -> Path:
    """Write ``fig`` to ``path`` (PNG/SVG/PDF by suffix) atomically and deterministically;
    returns the path."""
    import matplotlib

    fmt = figure_format(path)
    with matplotlib.rc_context({"svg.hashsalt": "actlab"}):
        return atomic_write(path, lambda tmp: fig.savefig(tmp, format=fmt, dpi=dpi,
                                                          metadata=METADATA[fmt]))
