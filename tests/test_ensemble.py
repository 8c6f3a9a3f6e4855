"""Batched ensembles against independent references: each net trained alone by a torch autograd
loop (float64, written below), the initialisation table re-drawn here from its stated scheme,
the seed's float32 loop (actlab.train.seed_training), a hand-derived first step, scipy's Wilson
interval; determinism and chunking; the sweep CLI."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.stats import binomtest

from actlab.activations import parse_activation
from actlab.data import Dataset, xor
from actlab.ensemble import (
    Ensemble,
    Kernel,
    SweepJob,
    init_ensemble,
    quantile,
    run_sweep_job,
    sweep,
    train_ensemble,
    wilson_interval,
)
from actlab.errors import ActlabError
from actlab.models import xor_initial
from actlab.train import seed_training
from conftest import assert_clean_error

ACTS = ["relu", "sigmoid", "tanh", "swish:beta=1", "elu:alpha=0.1", "plu:alpha=0.2,c=1",
        "gelu", "gelu:approx=tanh", "leaky_relu:slope=0.05", "jumprelu:q=0.1", "mish"]
X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
Y = np.array([0.0, 1.0, 1.0, 0.0])


# --- the independent reference ---------------------------------------------------------------
@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """Tiny tensors: torch's thread pool only adds waiting (3 ms per op on a busy machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def reference_init(sizes: tuple[int, ...], seed: int, nets: int) -> list[list[np.ndarray]]:
    """The stated scheme, re-drawn: default_rng(seed).random((nets, P)); row k = net k's
    W1 (row-major), b1, W2, b2, ...; u -> bound (2u - 1), bound = 1/sqrt(fan_in)."""
    shapes = [s for i in range(len(sizes) - 1)
              for s in ((sizes[i + 1], sizes[i]), (sizes[i + 1],))]
    table = np.random.default_rng(seed).random((nets, sum(math.prod(s) for s in shapes)))
    out = []
    for row in table:
        params, at = [], 0
        for shape in shapes:
            fan_in = shape[1] if len(shape) == 2 else params[-1].shape[1]
            size = math.prod(shape)
            bound = 1.0 / math.sqrt(fan_in)
            params.append(bound * (2.0 * row[at:at + size] - 1.0).reshape(shape))
            at += size
        out.append(params)
    return out


def torch_train_one(params: list[np.ndarray], act: str, epochs: int, lr: float, mode: str,
                    x: np.ndarray = X, y: np.ndarray = Y):
    """One net, torch autograd float64: per-sample SGD in order ("seed") or full batch."""
    f = parse_activation(act).torch
    theta = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in params]
    xt, yt = torch.tensor(x), torch.tensor(y)

    def logits(xb: torch.Tensor) -> torch.Tensor:
        h = xb
        for l in range(0, len(theta) - 2, 2):
            h = f(h @ theta[l].T + theta[l + 1])
        return (h @ theta[-2].T + theta[-1])[:, 0]

    batches = [slice(i, i + 1) for i in range(len(x))] if mode == "seed" else [slice(None)]
    for _ in range(epochs):
        for rows in batches:
            loss = F.binary_cross_entropy_with_logits(logits(xt[rows]), yt[rows])
            grads = torch.autograd.grad(loss, theta)
            with torch.no_grad():
                for p, g in zip(theta, grads, strict=True):
                    p -= lr * g
    z = logits(xt).detach()
    final_loss = float(F.binary_cross_entropy_with_logits(z, yt))
    solved = bool(torch.all((z > 0).double() == yt))
    # dead: f'(a) = 0 on every sample, f' by autograd through the torch twin
    dead, h = [], xt
    for l in range(0, len(theta) - 2, 2):
        a = (h @ theta[l].T + theta[l + 1]).detach().requires_grad_(True)
        (slope,) = torch.autograd.grad(f(a).sum(), a)
        dead.extend(bool(torch.all(slope[:, u] == 0)) for u in range(a.shape[1]))
        h = f(a).detach()
    return [p.detach().numpy() for p in theta], final_loss, solved, dead


# --- the hidden activation kernel ------------------------------------------------------------
@pytest.mark.parametrize("spec", [*ACTS, "hardtanh", "identity", "plu:alpha=-0.5,c=2"])
def test_kernel_is_the_catalogue(spec: str) -> None:
    act = parse_activation(spec)
    points = [b.x for b in act.breakpoints()] + list(act.split_points())
    a = np.concatenate([np.random.default_rng(0).normal(scale=3, size=500), points,
                        np.nextafter(points, np.inf), np.nextafter(points, -np.inf)])
    a = a.reshape(-1, 1, 1) if a.size % 2 else a.reshape(2, -1, 1)
    value, slope = Kernel(act)(a)
    np.testing.assert_array_equal(value, act.value(a))
    np.testing.assert_array_equal(slope, act.derivative(a))


# --- initialisation --------------------------------------------------------------------------
@pytest.mark.parametrize("sizes", [(2, 2, 1), (2, 3, 4, 1)])
def test_initialisation_is_the_stated_scheme(sizes: tuple[int, ...]) -> None:
    nets = 37
    ens = init_ensemble(sizes, "relu", nets, seed=5)
    ref = reference_init(sizes, 5, nets)
    for k in range(nets):
        for ours, theirs in zip(ens.network(k).parameters(), ref[k], strict=True):
            np.testing.assert_array_equal(ours, theirs)
    # net k alone (a chunk of one) is row k; the bounds are 1/sqrt(fan_in)
    for k in (0, 17, 36):
        alone = init_ensemble(sizes, "relu", 1, seed=5, start=k)
        for ours, theirs in zip(alone.network(0).parameters(), ref[k], strict=True):
            np.testing.assert_array_equal(ours, theirs)
    for layer, fan_in in zip(ens.weights, sizes[:-1], strict=False):
        assert np.all(np.abs(layer) <= 1 / math.sqrt(fan_in))


# --- against each net trained alone ----------------------------------------------------------
@pytest.mark.parametrize("mode", ["seed", "batch"])
@pytest.mark.parametrize("spec", ACTS)
def test_ensemble_matches_nets_trained_one_by_one(spec: str, mode: str) -> None:
    nets, epochs, lr = 4, 25, 0.5
    run = train_ensemble(init_ensemble((2, 2, 1), spec, nets, seed=3), xor(), epochs, lr,
                         mode)  # type: ignore[arg-type]
    ours_loss = run.final.losses(X, Y)
    ours_solved = np.all(run.final.classify(X) == Y[:, None], axis=0)
    ours_dead = run.final.dead_units(X)
    for k, start in enumerate(reference_init((2, 2, 1), 3, nets)):
        params, loss, solved, dead = torch_train_one(start, spec, epochs, lr, mode)
        for ours, theirs in zip(run.final.network(k).parameters(), params, strict=True):
            np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-10)
        assert abs(ours_loss[k] - loss) < 1e-10
        assert bool(ours_solved[k]) == solved
        assert ours_dead[:, k].tolist() == dead


def test_deeper_nets_match_one_by_one() -> None:
    sizes, nets, epochs, lr = (2, 3, 4, 1), 5, 25, 0.3
    for mode in ("seed", "batch"):
        run = train_ensemble(init_ensemble(sizes, "tanh", nets, seed=11), xor(), epochs,
                             lr, mode, history=True)  # type: ignore[arg-type]
        assert run.epoch_loss is not None and run.epoch_loss.shape == (epochs, nets)
        for k, start in enumerate(reference_init(sizes, 11, nets)):
            params = torch_train_one(start, "tanh", epochs, lr, mode)[0]
            for ours, theirs in zip(run.final.network(k).parameters(), params, strict=True):
                np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-10)
            # the recorded curve: mean loss over all samples after epochs 1 and 2
            for epoch in (1, 2):
                loss = torch_train_one(start, "tanh", epoch, lr, mode)[1]
                assert abs(run.epoch_loss[epoch - 1, k] - loss) < 1e-12


def test_sweep_numbers_match_one_by_one() -> None:
    nets, epochs, lr = 10, 40, 0.5
    row = sweep(["relu"], nets=nets, epochs=epochs, lr=lr, seed=2, workers=1).rows[0].to_dict()
    results = [torch_train_one(p, "relu", epochs, lr, "seed")
               for p in reference_init((2, 2, 1), 2, nets)]
    assert row["nets"] == nets
    assert row["solved_fraction"] == sum(r[2] for r in results) / nets
    assert abs(row["median_final_loss"] - float(np.median([r[1] for r in results]))) < 1e-10
    assert row["dead_unit_fraction"] == sum(sum(r[3]) for r in results) / (2 * nets)


# --- the seed's protocol ---------------------------------------------------------------------
def test_first_step_by_hand() -> None:
    """Sample (0,0) on xor-initial: h = relu([0, -1]) = 0, so z = b = -0.5 and only b moves:
    b <- -0.5 - lr sigmoid(-0.5) (dL/dz = p - y = sigmoid(-0.5)); relu'(0) = 0 stops c."""
    one = Dataset(X[:1], Y[:1], "first")
    run = train_ensemble(Ensemble.from_networks([xor_initial()]), one, epochs=1, lr=0.1)
    W, c, w, b = run.final.network(0).parameters()
    assert W.tolist() == [[1, 1], [1, 1]] and c.tolist() == [0, -1] and w.tolist() == [[1, -2]]
    assert b[0] == pytest.approx(-0.5 - 0.1 / (1 + math.exp(0.5)), abs=1e-15)


def test_seed_weights_as_an_ensemble_of_one_match_seed_training() -> None:
    """seed_training is PyTorch float32 (eps 6e-8), ours float64: after 400 steps they agree to
    about 1e-6 (measured 1.1e-6), not to float64 precision."""
    run = train_ensemble(Ensemble.from_networks([xor_initial()]), xor(), epochs=100, lr=0.1,
                         mode="seed")
    seed = seed_training(xor_initial(), xor(), epochs=100, lr=0.1)
    for ours, theirs in zip(run.final.network(0).parameters(), seed.network.parameters(),
                            strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=5e-6)
    # the trained network solves XOR in both
    assert run.final.classify(X)[:, 0].tolist() == [0, 1, 1, 0]


# --- determinism and chunking ----------------------------------------------------------------
def test_deterministic_given_the_seed() -> None:
    def once(seed: int):
        return sweep(["gelu", "relu"], nets=50, epochs=20, seed=seed, workers=1)

    a, b, c = once(4), once(4), once(5)
    for ra, rb, rc in zip(a.rows, b.rows, c.rows, strict=True):
        assert ra.to_dict() == rb.to_dict()
        np.testing.assert_array_equal(ra.outcomes.final_loss, rb.outcomes.final_loss)
        assert not np.array_equal(ra.outcomes.final_loss, rc.outcomes.final_loss)


def test_chunks_are_bit_identical_to_one_run() -> None:
    whole = sweep(["elu:alpha=0.1"], nets=23, epochs=15, seed=1, workers=1).rows[0].outcomes
    cut = sweep(["elu:alpha=0.1"], nets=23, epochs=15, seed=1, workers=1,
                chunk=4).rows[0].outcomes
    for name in ("final_loss", "solved", "accuracy", "dead_initial", "dead_final", "diverged"):
        np.testing.assert_array_equal(getattr(whole, name), getattr(cut, name))
    part = run_sweep_job(SweepJob("xor", "elu:alpha=0.1", (2,), 1, 7, 12, 15, 0.1, "seed"))
    np.testing.assert_array_equal(part.final_loss, whole.final_loss[7:12])


def test_same_initialisations_for_every_activation() -> None:
    a = init_ensemble((2, 2, 1), "relu", 5, seed=9)
    b = init_ensemble((2, 2, 1), "gelu", 5, seed=9)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        np.testing.assert_array_equal(p, q)


# --- divergence, statistics ------------------------------------------------------------------
def test_diverged_nets_are_flagged_not_fatal() -> None:
    row = sweep(["expr:x**3"], nets=12, epochs=50, lr=5.0, workers=1).rows[0]
    d = row.to_dict()
    assert d["diverged_fraction"] == 1.0 and d["solved_fraction"] == 0.0
    assert d["median_final_loss"] is None  # more than half diverged: the median is +inf


def test_wilson_interval_against_scipy() -> None:
    for k, n in [(0, 10), (3, 10), (79, 1000), (1000, 1000), (1, 1)]:
        ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
        assert wilson_interval(k, n) == pytest.approx((ci.low, ci.high), abs=1e-12)


def test_quantile_is_numpys_and_handles_infinity() -> None:
    v = np.random.default_rng(0).normal(size=11)
    for q in (0.25, 0.5, 0.75):
        assert quantile(v, q) == pytest.approx(float(np.quantile(v, q)), abs=1e-15)
    assert quantile(np.array([1.0, 2.0, np.inf]), 0.5) == 2.0
    assert quantile(np.array([1.0, np.inf, np.inf]), 0.5) == math.inf


@pytest.mark.parametrize("kwargs, message", [
    ({"nets": 0}, "nets"), ({"epochs": 0}, "epochs"), ({"lr": -1.0}, "learning rate"),
    ({"mode": "adam"}, "mode"), ({"task": "moons"}, "task"), ({"chunk": 0}, "chunk"),
    ({"hidden": (0,)}, "hidden")])
def test_bad_settings(kwargs: dict, message: str) -> None:
    with pytest.raises(ActlabError, match=message):
        sweep(["relu"], **{"nets": 4, "epochs": 2, "workers": 1, **kwargs})


# --- the CLI ---------------------------------------------------------------------------------
def test_sweep_cli_json_matches_one_by_one(cli) -> None:
    result = cli("sweep", "--task", "xor", "--act", "relu", "tanh", "--nets", "6", "--epochs",
                 "20", "--lr", "0.5", "--seed", "7", "--json")
    assert result.code == 0, result.stderr
    assert result.stderr == ""  # no progress bar when stderr is not a terminal
    data = result.json()
    assert [r["act"] for r in data["rows"]] == ["relu", "tanh"]
    for row in data["rows"]:
        refs = [torch_train_one(p, row["act"], 20, 0.5, "seed")
                for p in reference_init((2, 2, 1), 7, 6)]
        assert row["nets"] == 6
        assert row["solved_fraction"] == sum(r[2] for r in refs) / 6
        assert row["median_final_loss"] == pytest.approx(np.median([r[1] for r in refs]),
                                                         abs=1e-10)
        assert row["dead_unit_fraction"] == sum(sum(r[3]) for r in refs) / 12


def test_sweep_cli_plot(cli, tmp_path) -> None:
    target = tmp_path / "sweep.png"
    result = cli("sweep", "--act", "relu", "--act", "gelu", "--nets", "20", "--epochs", "5",
                 "--plot", str(target))
    assert result.code == 0, result.stderr
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "relu" in result.stdout and "gelu" in result.stdout


@pytest.mark.parametrize("args", [
    ["--act", "nope"], ["--nets", "0"], ["--mode", "sgd"], ["--scheduler", "localhost:8786"],
    ["--plot", "out.txt"]])
def test_sweep_cli_bad_input(cli, tmp_path, args: list[str]) -> None:
    result = cli("sweep", "--act", "relu", "--nets", "4", *args, "--json", cwd=tmp_path)
    assert_clean_error(result)
    assert list(tmp_path.iterdir()) == []
