"""Run the library once for the whole report and keep every result in one object.

Nothing else in the report computes a number: the sections, the figures and results.json read
``ReportResults``. ``to_dict`` is results.json, in the contract's JSON shapes ("regions",
"xor_trace", "xor_train", "oae", "jumprelu"), without timings (same inputs -> same bytes).
"""

from __future__ import annotations

import platform
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from actlab.backprop import Trace, Verification, trace, verify
from actlab.claims import ClaimsContext, ClaimsReport, check_claims
from actlab.data import Dataset
from actlab.jumprelu import SweepResult, jumprelu_sweep
from actlab.network import Network
from actlab.oae.api import oae
from actlab.oae.attacks import AttackResult, run_attacks
from actlab.oae.result import OAEResult
from actlab.regions import RegionsReport, regions_report
from actlab.report.config import ReportConfig
from actlab.train import Diagnosis, SeedRun, diagnose, seed_training, xor_params

FORMAT = "actlab-report/1"
PACKAGES = ("actlab", "numpy", "scipy", "torch", "highspy", "typst", "matplotlib")
TIMING_KEYS = frozenset({"seconds"})

Stage = Callable[[str], AbstractContextManager[Any]]


@dataclass(frozen=True)
class OAERun:
    """Exact OAEs of every sample under one network and norm, with the attacks at each sample.
    ``label`` is the network's role in the report: initial or trained."""

    label: str
    network: Network
    norm: str
    box: tuple[float, float] | None
    results: list[OAEResult]
    attacks: list[list[AttackResult]]

    def gap(self, i: int, attack: AttackResult) -> float | None:
        """How much farther than the exact distance the attack's point is (None: no point)."""
        exact = self.results[i].distance
        if not attack.success or attack.distance is None or exact is None:
            return None
        return attack.distance - exact

    def to_dict(self) -> dict[str, Any]:
        rows = []
        for i, (result, attacks) in enumerate(zip(self.results, self.attacks, strict=True)):
            row = result.to_dict()
            row["attacks"] = [{**a.to_dict(), "gap": self.gap(i, a)} for a in attacks]
            rows.append(row)
        return {"model": self.network.name, "network": self.label, "norm": self.norm,
                "box": None if self.box is None else list(self.box), "results": rows}


@dataclass
class ReportResults:
    """Everything the report shows."""

    config: ReportConfig
    regions: RegionsReport
    initial: Network
    data: Dataset
    trace: Trace
    verification: Verification
    run: SeedRun
    diagnosis: Diagnosis
    oae: list[OAERun]
    jumprelu: SweepResult
    claims: ClaimsReport
    versions: dict[str, str]
    trained: Network   # the trained network (run.network) under the report's name for it

    def oae_runs(self, norm: str) -> list[OAERun]:
        return [r for r in self.oae if r.norm == norm]

    def train_dict(self) -> dict[str, Any]:
        """The contract's ``xor train`` shape plus the diagnosis."""
        run, d = self.run, self.diagnosis
        return {"params": xor_params(run.network), "epoch_loss_mean": run.epoch_loss_mean,
                "epoch_loss_last": run.epoch_loss_last, "predictions": d.predictions,
                "accuracy": d.accuracy, "probabilities": d.probabilities,
                "epoch_loss_end": run.epoch_loss_end, "initial_params": xor_params(run.initial),
                "epochs": run.epochs, "lr": run.lr, "diagnosis": d}

    def to_dict(self) -> dict[str, Any]:
        """results.json: every result the report shows, timings left out."""
        from actlab.cli.output import jsonable

        data = {
            "format": FORMAT,
            "config": self.config.to_dict(),
            "regions": self.regions.to_dict(),
            "xor_trace": self.trace.to_dict(),
            "xor_verify": self.verification.to_dict(),
            "xor_train": self.train_dict(),
            "oae": [r.to_dict() for r in self.oae],
            "jumprelu": self.jumprelu.to_dict(),
            "claims": self.claims.to_dict(),
            "versions": self.versions,
        }
        return _without_timings(jsonable(data))


def _without_timings(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_timings(v) for k, v in value.items() if k not in TIMING_KEYS}
    if isinstance(value, list):
        return [_without_timings(v) for v in value]
    return value


def versions() -> dict[str, str]:
    """Versions of Python and of the packages the results depend on."""
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def stage_names(config: ReportConfig) -> list[str]:
    """The computation's steps, in order (for the progress bar)."""
    names = ["activation regions", "backpropagation", "verification", "training"]
    for norm in config.norms:
        names += [f"exact OAE ({norm})", f"attacks ({norm})"]
    return [*names, "JumpReLU sweep", "claims"]


def _no_stage(name: str) -> AbstractContextManager[Any]:
    return nullcontext()


def compute(config: ReportConfig, stage: Stage = _no_stage) -> ReportResults:
    """Run every analysis of the report once, in the order of ``stage_names``."""
    with stage("activation regions"):
        regions = regions_report(config.specs, fast=config.fast, slow=config.slow)
    initial, data = config.network(), config.dataset()
    with stage("backpropagation"):
        hand = trace(initial, data)
    with stage("verification"):
        checked = verify(initial, data)
    with stage("training"):
        run = seed_training(initial, data, epochs=config.epochs, lr=config.lr)
        diagnosis = diagnose(run)
    trained = Network(run.network.layers, name=config.trained_name())
    runs = []
    for norm in config.norms:
        with stage(f"exact OAE ({norm})"):
            exact = {label: [oae(net, x, norm, config.box) for x in data.x]
                     for label, net in (("initial", initial), ("trained", trained))}
        with stage(f"attacks ({norm})"):
            for label, net in (("initial", initial), ("trained", trained)):
                attacks = [run_attacks(net, x, norm, config.box) for x in data.x]
                runs.append(OAERun(label, net, norm, config.box, exact[label], attacks))
    with stage("JumpReLU sweep"):
        qs = None if config.q is None else list(config.q)
        sweep = jumprelu_sweep(trained, data.x, data.labels(), qs, config.jumprelu_norm,
                               config.box, also=[ClaimsContext.seed_q])
    with stage("claims"):
        claims = check_claims(_claims_context(config, regions, initial, trained, sweep))
    return ReportResults(config, regions, initial, data, hand, checked, run, diagnosis, runs,
                         sweep, claims, versions(), trained)


def _claims_context(config: ReportConfig, regions: RegionsReport, initial: Network,
                    trained: Network, sweep: SweepResult) -> ClaimsContext:
    """The seed's claims are about the homework's own parameters: with those, the report's
    results are reused (the sweep too when it is the claims' own: default grid, L2, no box);
    with a variant, the claims module computes the homework's setting."""
    ctx = ClaimsContext()
    if not config.is_homework():
        return ctx
    by_activation = {r.activation: r for r in regions.results}
    found = {key: by_activation[ctx.activation(key)] for key in ctx.specs
             if ctx.activation(key) in by_activation}
    own_sweep = (config.q is None and config.box is None
                 and config.jumprelu_norm == ClaimsContext.norm)
    return ClaimsContext(initial=initial, trained=trained, data=config.dataset(),
                         epochs=config.epochs, lr=config.lr, region_results=found,
                         sweep=sweep if own_sweep else None)
