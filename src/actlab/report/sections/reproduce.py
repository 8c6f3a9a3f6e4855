"""Section 7: how to reproduce the report: versions, the configuration used, the command."""

from __future__ import annotations

from actlab.report.compute import ReportResults
from actlab.report.doc import Code, Para, Pre, Section, Table, inl
from actlab.report.sections.common import cells


def build(results: ReportResults, figures: dict[str, str], command: str) -> Section:
    versions = Table(cells("software", "version"),
                     tuple(cells(name, version) for name, version in results.versions.items()),
                     caption="Versions used.")
    source = results.config.source or "the defaults: the homework as set"
    blocks = (
        Para(inl("The command that wrote this report:")),
        Pre(command),
        versions,
        Para(inl(f"The configuration used ({source}), in full; save it as a file and pass it "
                 "with ", Code("--config"), " to reproduce or vary the report:")),
        Pre(results.config.to_toml()),
        Para(inl(Code("results.json"), " next to this report holds every number shown here in "
                 "full precision, in the JSON shapes of actlab's commands. The same "
                 "configuration gives the same results.json, byte for byte.")),
    )
    return Section("Reproducibility", "reproduce", blocks)
