"""Assemble the report's document from the results: the intro and sections 1-7."""

from __future__ import annotations

from actlab.report.compute import ReportResults
from actlab.report.doc import Block, Code, Document, Para, inl
from actlab.report.sections import (
    activations,
    backprop,
    claims,
    jumprelu,
    oae,
    reproduce,
    training,
)

TITLE = "Activation functions, backpropagation and adversarial examples"


def _intro(results: ReportResults) -> tuple[Block, ...]:
    source = results.config.source or "the homework's parameters (the defaults)"
    return (
        Para(inl("The complete solution of the homework in the seed document, every number "
                 "computed and checked by actlab: the exact gradient regions of the activation "
                 "functions, the backward pass of the XOR network by hand and verified, the "
                 "seed's training loop with a diagnosis, certified optimal adversarial examples "
                 "before and after training, JumpReLU as a retrofit, and the seed's own claims "
                 f"put to the test. Parameters: {source}.")),
        Para(inl("Conventions: float64 in every analysis, float32 where the seed's PyTorch loop "
                 "runs in float32; at a kink the derivative PyTorch uses (ReLU'(0) = 0), with "
                 "both one-sided derivatives listed; class 1 iff z > 0. All numbers are in ",
                 Code("results.json"), " in full precision.")),
    )


def build_document(results: ReportResults, figures: dict[str, str], command: str) -> Document:
    """The whole report as a document tree."""
    sections = (
        activations.build(results, figures),
        backprop.build(results, figures),
        training.build(results, figures),
        oae.build(results, figures),
        jumprelu.build(results, figures),
        claims.build(results, figures),
        reproduce.build(results, figures, command),
    )
    version = results.versions.get("actlab", "")
    return Document(TITLE, f"The verified solution, computed by actlab {version}",
                    _intro(results), sections)
