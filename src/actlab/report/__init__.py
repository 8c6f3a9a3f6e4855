"""``actlab report``: the complete, verified homework solution as PDF, HTML and results.json.

config (TOML parameters) -> compute (every result, once) -> figures -> document tree ->
typst (PDF) and HTML renderers; build writes it all atomically into the output folder.
"""

from actlab.report.build import ReportFiles, write_report
from actlab.report.compute import ReportResults, compute
from actlab.report.config import DEFAULT_TOML, ReportConfig, default_config, load_config

__all__ = ["DEFAULT_TOML", "ReportConfig", "ReportFiles", "ReportResults", "compute",
           "default_config", "load_config", "write_report"]
