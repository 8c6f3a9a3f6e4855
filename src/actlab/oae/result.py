"""The result of an optimal-adversarial-example computation (a plain dataclass)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

CERTIFY_ABS_TOL = 1e-7
CERTIFY_REL_TOL = 1e-7


def _finite_or_none(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


@dataclass
class OAEResult:
    """Exact OAE of one input ``x`` of class ``cls``.

    cls          the class of x in exact rational arithmetic (the network's definition; a
                 float forward pass can round a tie such as z = w.h - w.h to either side);

    distance     inf ||x' - x|| over inputs x' of another class (None: there is none);
    point        the closest point of the closure of that set (it may sit on the boundary);
    witness      an input that really flips the class (checked by a float and an exact rational
                 forward pass), no farther than distance + 1e-6; ``witness_class`` its class;
    lower_bound  a certified lower bound on the distance (by LP/QP duality and exhaustive
                 search); ``certified`` when lower_bound >= distance - 1e-7 (abs and rel).
    status       e.g. "optimal" (searched to the end), "no_adversarial" (distance None,
                 certified), "time_limit" (the bracket [lower_bound, upper_bound] so far),
                 "imprecise" (branch and bound: float64 could not resolve the regions at this
                 input's magnitude; the bracket is [0, the distance of an input of another
                 class found from the reference point]); the MILP adds its own.
    """

    x: list[float]
    cls: int
    norm: str
    distance: float | None
    point: list[float] | None
    witness: list[float] | None
    witness_class: int | None
    witness_distance: float | None
    lower_bound: float
    certified: bool
    method: str
    status: str
    seconds: float = 0.0
    nodes: int = 0
    solver_calls: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def upper_bound(self) -> float:
        """A verified upper bound: the witness's distance (inf when none was found)."""
        return math.inf if self.witness_distance is None else self.witness_distance

    def to_dict(self) -> dict[str, Any]:
        return {
            "x": self.x, "class": self.cls, "distance": _finite_or_none(self.distance),
            "point": self.point, "witness": self.witness, "witness_class": self.witness_class,
            "lower_bound": _finite_or_none(self.lower_bound), "certified": self.certified,
            "method": self.method, "norm": self.norm, "status": self.status,
            "upper_bound": _finite_or_none(self.upper_bound),
            "witness_distance": _finite_or_none(self.witness_distance),
            "seconds": round(self.seconds, 6), "nodes": self.nodes,
            "solver_calls": self.solver_calls, "notes": self.notes,
        }


def agrees(lower_bound: float, distance: float) -> bool:
    """The certificate criterion: lower_bound >= distance - (1e-7 + 1e-7 distance)."""
    return lower_bound >= distance - (CERTIFY_ABS_TOL + CERTIFY_REL_TOL * abs(distance))
