"""Training against a real PyTorch run of the seed's code (written out below, autograd and
torch.optim.SGD) and against closed forms; general training's determinism."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.optim as optim

from actlab.data import Dataset, load_dataset, xor
from actlab.errors import ActlabError
from actlab.models import xor_initial, xor_trained
from actlab.network import Network
from actlab.train import (
    dead_units,
    diagnose,
    init_network,
    seed_training,
    train,
    xor_params,
)


def run_seed_code(epochs: int = 100, lr: float = 0.1, act=torch.relu, c=(0., -1.)):
    """The seed document's training code, verbatim but for recording every step's loss (and,
    optionally, another hidden activation or hidden bias)."""

    class XORNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden = nn.Linear(2, 2, bias=True)
            self.output = nn.Linear(2, 1, bias=True)
            self.hidden.weight.data = torch.tensor([[1., 1.], [1., 1.]])
            self.hidden.bias.data = torch.tensor(list(c))
            self.output.weight.data = torch.tensor([[1., -2.]])
            self.output.bias.data = torch.tensor([-0.5])

        def forward(self, x):
            h = act(self.hidden(x))
            y = torch.sigmoid(self.output(h))
            return y

    net = XORNet()
    criterion = nn.BCELoss()
    optimizer = optim.SGD(net.parameters(), lr=lr)
    X = torch.tensor([[0., 0.], [0., 1.], [1., 0.], [1., 1.]])
    y = torch.tensor([[0.], [1.], [1.], [0.]])
    losses, every = [], []
    for _epoch in range(epochs):
        for i in range(4):
            optimizer.zero_grad()
            output = net(X[i])
            loss = criterion(output, y[i])
            loss.backward()
            optimizer.step()
            every.append(loss.item())
        losses.append(loss.item())
    params = {"W": net.hidden.weight.data.double().numpy(),
              "c": net.hidden.bias.data.double().numpy(),
              "w": net.output.weight.data.double().numpy()[0],
              "b": float(net.output.bias.data[0])}
    return params, np.array(losses), np.array(every).reshape(epochs, 4)


@pytest.fixture(scope="module")
def seed_reference():
    return run_seed_code()


@pytest.fixture(scope="module")
def seed_run():
    return seed_training()


def test_trained_parameters_equal_pytorch_run_of_seed_code(seed_reference, seed_run) -> None:
    ref, _, _ = seed_reference
    ours = xor_params(seed_run.network)
    for key in ("W", "c", "w", "b"):
        np.testing.assert_allclose(ours[key], ref[key], rtol=0, atol=1e-6, err_msg=key)
        # in fact bit-identical: the same float32 kernels in the same order
        np.testing.assert_array_equal(ours[key], ref[key], err_msg=key)


def test_loss_curves_match_pytorch_run(seed_reference, seed_run) -> None:
    _, last, every = seed_reference
    np.testing.assert_allclose(seed_run.epoch_loss_last, last, rtol=0, atol=1e-6)
    np.testing.assert_allclose(seed_run.epoch_loss_mean, every.mean(axis=1), rtol=0, atol=1e-6)
    assert seed_run.epoch_loss_last[0] == pytest.approx(0.6219094, abs=1e-6)  # seed's epoch 1
    # the first step is the worked example: (0,0) at the initial weights, loss 0.474
    assert every[0, 0] == pytest.approx(0.4740770, abs=1e-6)


@pytest.mark.parametrize("epochs, lr", [(7, 0.5), (3, 2.0)])
def test_other_schedules_match_pytorch(epochs: int, lr: float) -> None:
    ref, last, _ = run_seed_code(epochs, lr)
    run = seed_training(epochs=epochs, lr=lr)
    ours = xor_params(run.network)
    for key in ("W", "c", "w", "b"):
        np.testing.assert_allclose(ours[key], ref[key], rtol=0, atol=1e-6, err_msg=key)
    np.testing.assert_allclose(run.epoch_loss_last, last, atol=1e-6)


def test_xor_trained_builtin_is_the_seed_run(seed_reference) -> None:
    ref, _, _ = seed_reference
    trained = xor_trained()
    assert trained.name == "xor-trained"
    np.testing.assert_allclose(trained.layers[0].weight, ref["W"], atol=1e-6)
    assert xor_trained() is trained  # cached


def test_epoch_loss_end_is_loss_at_end_of_epoch_parameters(seed_run) -> None:
    """Closed form check of one snapshot: BCE of sigmoid(w.relu(Wx+c)+b) over the 4 samples."""
    data = xor()
    p = xor_params(seed_run.snapshots[10])
    a = data.x @ np.array(p["W"]).T + np.array(p["c"])
    z = np.maximum(a, 0) @ np.array(p["w"]) + p["b"]
    prob = 1 / (1 + np.exp(-z))
    bce = -np.mean(data.y * np.log(prob) + (1 - data.y) * np.log(1 - prob))
    assert seed_run.epoch_loss_end[9] == pytest.approx(bce, rel=1e-12)


def test_diagnosis_is_computed_from_the_run(seed_run) -> None:
    d = diagnose(seed_run)
    prob = seed_run.network.predict_proba(xor().x)
    assert d.predictions == (prob > 0.5).astype(int).tolist() == [0, 1, 1, 0]
    assert d.accuracy == 1.0 and d.solved
    # the end-of-epoch loss still fell by more than 1e-3 over the last 10 epochs
    assert d.loss_change_last_window > 1e-3 and not d.converged
    assert d.dead_units_end == [] and d.dead_units_start == []
    assert len(d.grad_norm_per_epoch) == seed_run.epochs + 1
    assert d.grad_norm_end < d.grad_norm_start
    assert any("converged" in reason for reason in d.why)


def test_longer_run_converges_by_the_criterion() -> None:
    d = diagnose(seed_training(epochs=500, lr=0.1))
    assert d.converged and d.solved and d.loss_end < 0.02


def test_large_learning_rate_kills_a_hidden_unit() -> None:
    """lr 0.5: hidden unit 2 dies (a2 <= 0 on all four samples), the run plateaus at 3/4.
    Parameters checked against the seed's code in PyTorch, the death by closed form."""
    run = seed_training(epochs=300, lr=0.5)
    ref, _, _ = run_seed_code(300, 0.5)
    p = xor_params(run.network)
    for key in ("W", "c", "w", "b"):
        np.testing.assert_allclose(p[key], ref[key], rtol=0, atol=1e-6, err_msg=key)
    a2 = xor().x @ np.array(ref["W"])[1] + ref["c"][1]
    assert np.all(a2 <= 0)
    d = diagnose(run)
    assert d.dead_units_end == [[0, 1]] and not d.solved and d.accuracy == 0.75
    assert d.converged  # it has stopped moving: nothing left to learn with one unit
    assert any("half-plane" in reason for reason in d.why)
    # the seed's curve (last sample only) reads almost 0 although 1 of 4 samples is wrong
    assert run.epoch_loss_last[-1] < 1e-3 < 0.4 < run.epoch_loss_end[-1]
    assert any("hides" in reason for reason in d.why)


def test_dead_units_closed_form() -> None:
    """Unit 2 has a = -x1 - x2 - 1 < 0 on every XOR sample: relu' = 0 everywhere, dead."""
    net = Network.from_arrays([[[1.0, 1.0], [-1.0, -1.0]], [[1.0, 1.0]]], [[0.0, -1.0], [0.0]],
                              ["relu", "sigmoid"])
    assert dead_units(net, xor().x) == [[0, 1]]
    _, grads = net.loss_and_gradients(xor().x, xor().y)
    np.testing.assert_array_equal(grads.weight[0][1], [0.0, 0.0])
    np.testing.assert_array_equal(grads.bias[0][1], 0.0)


def test_divergence_is_a_clear_error() -> None:
    with pytest.raises(ActlabError, match="diverged"):
        train("xor", hidden=(4,), epochs=50, lr=1e200, seed=0)


def test_bad_settings_are_clear_errors() -> None:
    with pytest.raises(ActlabError, match="learning rate"):
        seed_training(epochs=1, lr=-1.0)
    with pytest.raises(ActlabError, match="epochs"):
        seed_training(epochs=0)
    with pytest.raises(ActlabError, match="hidden"):
        train("xor", hidden=(0,))
    with pytest.raises(ActlabError, match="labels"):
        train(Dataset(np.zeros((3, 2)), None, "nolabels"))


def test_general_training_is_deterministic_given_seed() -> None:
    a = train("moons", hidden=(6, 6), act="tanh", epochs=15, lr=0.3, batch=16, seed=4)
    b = train("moons", hidden=(6, 6), act="tanh", epochs=15, lr=0.3, batch=16, seed=4)
    c = train("moons", hidden=(6, 6), act="tanh", epochs=15, lr=0.3, batch=16, seed=5)
    for p, q in zip(a.network.parameters(), b.network.parameters(), strict=True):
        np.testing.assert_array_equal(p, q)
    np.testing.assert_array_equal(a.epoch_loss, b.epoch_loss)
    assert not np.array_equal(a.network.parameters()[0], c.network.parameters()[0])


def test_full_batch_step_equals_torch_sgd_float64() -> None:
    """One full-batch step of train() equals torch.optim.SGD on the same float64 network."""
    result = train("circles", hidden=(5,), act="elu:alpha=0.1", epochs=1, lr=0.7, seed=2)
    start = init_network((2, 5, 1), "elu:alpha=0.1", np.random.default_rng(2))
    data = load_dataset("circles", seed=2)
    params = [torch.tensor(p, requires_grad=True) for p in start.parameters()]
    opt = optim.SGD(params, lr=0.7)
    x = torch.tensor(data.x)
    h = torch.nn.functional.elu(x @ params[0].T + params[1], alpha=0.1)
    z = (h @ params[2].T + params[3])[:, 0]
    torch.nn.functional.binary_cross_entropy_with_logits(z, torch.tensor(data.y)).backward()
    opt.step()
    for ours, ref in zip(result.network.parameters(), params, strict=True):
        np.testing.assert_allclose(ours, ref.detach().numpy(), rtol=1e-12, atol=1e-14)


def test_multiclass_training_from_a_data_file(tmp_path) -> None:
    rng = np.random.default_rng(0)
    centers = np.array([[0, 3], [3, 0], [-3, -3]])
    y = np.repeat([0, 1, 2], 20)
    x = centers[y] + rng.normal(size=(60, 2)) * 0.5
    path = tmp_path / "blobs.json"
    path.write_text(json.dumps({"x": x.tolist(), "y": y.tolist()}))
    result = train(str(path), hidden=(8,), epochs=100, lr=0.5, seed=0)
    assert result.network.num_outputs == 3
    assert result.network.layers[-1].activation.name == "softmax"
    assert result.accuracy > 0.95
    assert result.epoch_loss[-1] < result.initial_loss


def test_xor_initial_matches_the_seed() -> None:
    net = xor_initial()
    assert xor_params(net) == {"W": [[1.0, 1.0], [1.0, 1.0]], "c": [0.0, -1.0],
                               "w": [1.0, -2.0], "b": -0.5}
    assert [l.activation.spec for l in net.layers] == ["relu", "sigmoid"]


@pytest.mark.parametrize("spec, act", [("tanh", torch.tanh), ("gelu", torch.nn.functional.gelu),
                                       ("swish:beta=1", torch.nn.functional.silu),
                                       ("elu:alpha=0.1",
                                        lambda t: torch.nn.functional.elu(t, 0.1))])
def test_smooth_hidden_activations_are_bit_identical_to_pytorch(spec: str, act) -> None:
    """The seed's code with torch.tanh / F.gelu / F.silu / F.elu as the hidden activation: the
    float32 rounding of f's backward is PyTorch's own, so the parameters agree exactly."""
    ref, last, _ = run_seed_code(200, 0.5, act=act)
    run = seed_training(xor_initial().with_hidden_activation(spec), epochs=200, lr=0.5)
    ours = xor_params(run.network)
    for key in ("W", "c", "w", "b"):
        np.testing.assert_array_equal(ours[key], ref[key], err_msg=key)
    np.testing.assert_array_equal(run.epoch_loss_last, last)


def test_dead_unit_from_the_start_against_pytorch_and_closed_form() -> None:
    """c = [0, -3]: a2 = x1 + x2 - 3 <= -1 on every sample, so unit 2 is dead at epoch 0 and
    stays dead (no gradient reaches it); PyTorch's run of the seed's code agrees."""
    start = Network.from_arrays([[[1.0, 1.0], [1.0, 1.0]], [[1.0, -2.0]]], [[0.0, -3.0], [-0.5]],
                                ["relu", "sigmoid"], name="dead")
    ref, last, _ = run_seed_code(100, 0.1, c=(0.0, -3.0))
    run = seed_training(start, epochs=100, lr=0.1)
    for key in ("W", "c", "w", "b"):
        np.testing.assert_array_equal(xor_params(run.network)[key], ref[key], err_msg=key)
    np.testing.assert_array_equal(run.epoch_loss_last, last)
    np.testing.assert_array_equal(ref["W"][1], [1.0, 1.0])  # never updated
    assert ref["c"][1] == -3.0
    d = diagnose(run)
    assert d.dead_units_start == [[0, 1]] == d.dead_units_end
    assert d.dead_since_epoch == {"hidden layer 1, unit 2": 0}
    # one live relu unit: z > 0 iff w1 relu(a1) + b > 0, a half-plane; XOR's (1,1) is wrong
    a1 = xor().x @ ref["W"][0] + ref["c"][0]
    z = ref["w"][0] * np.maximum(a1, 0) + ref["b"]
    assert d.predictions == (z > 0).astype(int).tolist() and not d.solved
    assert any("half-plane" in reason for reason in d.why)


def test_saturated_outputs_stall_the_seeds_loop() -> None:
    """lr 3: samples (0,1), (1,0) end at p ~ 6e-28 with label 1. PyTorch's own gradient (the
    seed's sigmoid + BCELoss) of those samples is ~1e-16 times BCEWithLogitsLoss's, so the run
    stops there: the diagnosis says stuck, and names them."""
    run = seed_training(epochs=50, lr=3.0)
    ref, _, _ = run_seed_code(50, 3.0)
    for key in ("W", "c", "w", "b"):
        np.testing.assert_array_equal(xor_params(run.network)[key], ref[key], err_msg=key)
    stalled = []
    for i, (x, y) in enumerate(zip(xor().x, xor().y, strict=True)):
        b = torch.tensor([ref["b"]], requires_grad=True)
        h = torch.relu(torch.tensor(ref["W"]).float() @ torch.tensor(x).float()
                       + torch.tensor(ref["c"]).float())
        z = torch.tensor(ref["w"]).float() @ h + b
        target = torch.tensor([y]).float()
        seed_grad, = torch.autograd.grad(nn.BCELoss()(torch.sigmoid(z), target), b)
        true_grad, = torch.autograd.grad(nn.BCEWithLogitsLoss()(z, target), b)
        if abs(true_grad.item()) > 0.5 and abs(seed_grad.item()) < 1e-9:
            stalled.append(i)
    assert stalled == [1, 2]
    d = diagnose(run)
    assert [s["sample"] for s in d.saturated_samples] == stalled
    assert d.converged and d.stuck and not d.solved
    assert d.step_grad_norm_per_epoch[-1] < 1e-9 < 1 < d.grad_norm_end
    assert any("saturated output" in reason for reason in d.why)


def test_learning_rate_beyond_float32_is_a_clear_error() -> None:
    with pytest.raises(ActlabError, match="float32"):
        seed_training(epochs=1, lr=1e39)


def test_soft_labels_get_no_separable_data_remark() -> None:
    data = Dataset(np.array([[0.5, -1.0], [1.0, 1.0]]), np.array([0.3, 0.0]), "soft")
    d = diagnose(seed_training(xor_initial(), data, epochs=5, lr=0.1))
    assert not any("infimum" in reason for reason in d.why)


def reference_sgd(data: Dataset, hidden: tuple[int, ...], act, epochs: int, lr: float,
                  batch: int, seed: int) -> list[np.ndarray]:
    """train()'s documented recipe written with torch autograd (float64): PyTorch's default
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)) from numpy's PCG64 (weights then bias, layer by layer),
    a fresh rng.permutation per epoch for mini-batches, theta <- theta - lr grad of the mean."""
    import itertools
    import math

    import torch.nn.functional as F

    rng = np.random.default_rng(seed)
    classes = max(2, int(data.y.max()) + 1)
    sizes = (data.x.shape[1], *hidden, 1 if classes == 2 else classes)
    params = []
    for fan_in, fan_out in itertools.pairwise(sizes):
        bound = 1 / math.sqrt(fan_in)
        params.append(torch.tensor(rng.uniform(-bound, bound, (fan_out, fan_in)),
                                   requires_grad=True))
        params.append(torch.tensor(rng.uniform(-bound, bound, fan_out), requires_grad=True))
    x, y = torch.tensor(data.x), torch.tensor(data.y)

    def loss(rows):
        h = x[rows]
        for l in range(len(params) // 2):
            h = F.linear(h, params[2 * l], params[2 * l + 1])
            h = act(h) if l < len(params) // 2 - 1 else h
        if classes == 2:
            return F.binary_cross_entropy_with_logits(h[:, 0], y[rows])
        return F.cross_entropy(h, y[rows].long())

    n = len(x)
    size = n if batch == 0 or batch >= n else batch
    for _ in range(epochs):
        order = np.arange(n) if size == n else rng.permutation(n)
        for start in range(0, n, size):
            grads = torch.autograd.grad(loss(torch.tensor(order[start:start + size])), params)
            with torch.no_grad():
                for p, g in zip(params, grads, strict=True):
                    p -= lr * g
    return [p.detach().numpy() for p in params]


@pytest.mark.parametrize("data, hidden, spec, act, batch", [
    ("moons", (6, 5), "relu", torch.relu, 16),
    ("circles", (5,), "tanh", torch.tanh, 0),
    ("three", (4,), "relu", torch.relu, 7)])
def test_mini_and_full_batch_sgd_match_torch_autograd(data, hidden, spec, act, batch) -> None:
    if data == "three":
        rng = np.random.default_rng(0)
        x = rng.normal(size=(30, 3))
        dataset = Dataset(x, np.argmax(x, axis=1).astype(float), "three")
    else:
        dataset = load_dataset(data, seed=5)
    result = train(dataset, hidden=hidden, act=spec, epochs=30, lr=0.3, batch=batch, seed=5)
    ref = reference_sgd(dataset, hidden, act, 30, 0.3, batch, 5)
    for ours, theirs in zip(result.network.parameters(), ref, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)
