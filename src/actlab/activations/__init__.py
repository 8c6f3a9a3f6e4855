"""The activation catalogue: value, derivative, breakpoints, stretches, linear pieces, torch twin.

>>> from actlab.activations import parse_activation
>>> parse_activation("plu:alpha=0.2,c=1").value([-2.5, 0.5, 2.5]).tolist()
[-1.3, 0.5, 1.3]
"""

from actlab.activations.base import Activation, Breakpoint, LinearPiece, Param, Stretch
from actlab.activations.spec import (
    CATALOGUE,
    HOMEWORK_SPECS,
    homework_activations,
    parse_activation,
)

__all__ = ["CATALOGUE", "HOMEWORK_SPECS", "Activation", "Breakpoint",
           "LinearPiece", "Param", "Stretch", "homework_activations", "parse_activation"]
