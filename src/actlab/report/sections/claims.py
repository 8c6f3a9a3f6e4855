"""Section 6: the seed's claims, each with its checked parts, the evidence and the verdict."""

from __future__ import annotations

from actlab.report.compute import ReportResults
from actlab.report.doc import Para, Section, Strong, Table, inl
from actlab.report.sections.common import cells


def build(results: ReportResults, figures: dict[str, str]) -> Section:
    report = results.claims
    rows = []
    for i, claim in enumerate(report.claims, start=1):
        parts = "; ".join(f"{part}: {'yes' if ok else 'no'}" for part, ok in claim.checks.items())
        rows.append(((str(i),), (claim.statement,), (Strong(claim.verdict),), (parts,),
                     (claim.evidence,)))
    summary = ", ".join(f"{n} {verdict}" for verdict, n in report.counts().items())
    setting = ("the same as this report's" if results.config.is_homework() else
               "the homework's own parameters, not this report's variant")
    intro = Para(inl(
        "The seed document is the problem statement, not ground truth. Each of its factual "
        "statements is split into checkable parts; each part is decided from results computed "
        "at run time (never written in advance), and the verdict follows: holds (every part "
        "true), does not hold (none), partly (some). The statements are about the homework's "
        f"setting, so they are checked with it ({setting}). Summary: {summary}."))
    table = Table(cells("#", "the seed says", "verdict", "parts checked", "evidence"),
                  tuple(rows), caption="The seed's claims.", small=True, stack=True)
    return Section("The seed's claims, checked", "claims", (intro, table))
