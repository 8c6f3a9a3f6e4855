"""Forward passes in exact rational arithmetic (fractions.Fraction) for piecewise-linear networks.

Every float is a dyadic rational, so weights, inputs and piece parameters convert exactly; the
class computed here is the true class of the float input under the float weights, with no
rounding at all. Used to confirm that an adversarial witness really flips the class.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from numpy.typing import ArrayLike

from actlab.activations import LinearPiece
from actlab.network import Network


def _piece_value(pieces: tuple[LinearPiece, ...], pre: Fraction) -> Fraction:
    for p in pieces:
        above = pre >= p.lo if p.closed_lo else pre > p.lo
        below = pre <= p.hi if p.closed_hi else pre < p.hi
        if above and below:
            return Fraction(p.slope) * pre + Fraction(p.intercept)
    raise AssertionError("pieces do not cover the value")


def exact_logits(network: Network, x: ArrayLike) -> list[Fraction]:
    """The logits z of one input, computed with Fractions (hidden activations piecewise linear)."""
    h = [Fraction(float(v)) for v in np.asarray(x, dtype=np.float64).ravel()]
    for layer in network.layers:
        weights = [[Fraction(float(w)) for w in row] for row in layer.weight]
        pre = [sum((w * v for w, v in zip(row, h, strict=True)), Fraction(bias))
               for row, bias in zip(weights, layer.bias.tolist(), strict=True)]
        if layer is network.layers[-1]:
            return pre
        pieces = layer.activation.pieces()
        h = [_piece_value(pieces, p) for p in pre]
    raise AssertionError("unreachable")


def exact_class(network: Network, x: ArrayLike) -> int:
    """Binary: 1 iff z > 0. Multi-class: argmax of z, ties to the lowest index. Exact."""
    z = exact_logits(network, x)
    if network.binary:
        return int(z[0] > 0)
    best = 0
    for j in range(1, len(z)):
        if z[j] > z[best]:
            best = j
    return best
