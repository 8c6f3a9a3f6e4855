"""Benchmark: batched ensemble training against the seed's per-sample PyTorch loop, one run.

Ensemble: ``actlab.ensemble.train_ensemble`` on N (default 10,000) XOR nets, 2-2-1 ReLU, 100
epochs of per-sample SGD in order (the seed's protocol), lr 0.1, float64, median wall time of
REPEATS runs (initialisation excluded: it is one random draw). Seed: the seed document's code
copied verbatim (XORNet with its manual weights, nn.BCELoss, optim.SGD, the 100-epoch loop with
``losses.append``), timed per net from construction to the last epoch on SEED_NETS nets, median;
with torch.set_num_threads(1), the fastest setting for 2-element tensors (the default thread
count is timed too and reported). The goal: ensemble time per net at least 300 times smaller.
A check in the same run: the seed's weights trained as an ensemble of one reproduce the seed
code's float32 parameters to float32 accuracy. Prints one JSON document.

Usage: .venv/bin/python benchmarks/bench_ensemble.py [--nets N] [--repeats R] [--seed-nets K]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim

from actlab.activations import HOMEWORK_SPECS
from actlab.data import xor
from actlab.ensemble import Ensemble, init_ensemble, train_ensemble
from actlab.models import xor_initial

EPOCHS, LR, GOAL = 100, 0.1, 300.0


# --- the seed's code, verbatim (/work/shared/seed/000_d2ace42cadfe1f86.txt) ------------------
class XORNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(2, 2, bias=True)
        self.output = nn.Linear(2, 1, bias=True)
        # Initialize weights manually
        self.hidden.weight.data = torch.tensor([[1., 1.], [1., 1.]])
        self.hidden.bias.data = torch.tensor([0., -1.])
        self.output.weight.data = torch.tensor([[1., -2.]])
        self.output.bias.data = torch.tensor([-0.5])

    def forward(self, x):
        h = torch.relu(self.hidden(x))
        y = torch.sigmoid(self.output(h))
        return y


def seed_code() -> tuple[XORNet, list[float]]:
    """One network, exactly as the seed trains it (plotting left out)."""
    net = XORNet()
    criterion = nn.BCELoss()
    optimizer = optim.SGD(net.parameters(), lr=0.1)
    X = torch.tensor([[0., 0.], [0., 1.], [1., 0.], [1., 1.]])
    y = torch.tensor([[0.], [1.], [1.], [0.]])
    losses = []
    for _epoch in range(100):
        for i in range(4):
            optimizer.zero_grad()
            output = net(X[i])
            loss = criterion(output, y[i])
            loss.backward()
            optimizer.step()
        losses.append(loss.item())
    return net, losses


# --- timing ----------------------------------------------------------------------------------
def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def seed_seconds_per_net(nets: int, threads: int) -> list[float]:
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        seed_code()                                        # warm-up (first-call overheads)
        return [timed(seed_code) for _ in range(nets)]
    finally:
        torch.set_num_threads(previous)


def ensemble_seconds(nets: int, repeats: int, act: str = "relu", mode: str = "seed"
                     ) -> list[float]:
    ens = init_ensemble((2, 2, 1), act, nets, seed=0)
    data = xor()
    train_ensemble(ens, data, 1, LR, mode)                 # warm-up
    return [timed(lambda: train_ensemble(ens, data, EPOCHS, LR, mode)) for _ in range(repeats)]


def seed_check() -> float:
    """max |ensemble-of-one (float64) - seed code (float32)| over the final parameters."""
    net, _ = seed_code()
    theirs = [p.detach().double().numpy() for p in (net.hidden.weight, net.hidden.bias,
                                                   net.output.weight, net.output.bias)]
    run = train_ensemble(Ensemble.from_networks([xor_initial()]), xor(), EPOCHS, LR, "seed")
    ours = run.final.network(0).parameters()
    return max(float(np.max(np.abs(a - b))) for a, b in zip(ours, theirs, strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nets", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed-nets", type=int, default=10)
    args = parser.parse_args()

    ens = ensemble_seconds(args.nets, args.repeats)
    seed_1 = seed_seconds_per_net(args.seed_nets, 1)
    seed_default = seed_seconds_per_net(max(2, args.seed_nets // 5), torch.get_num_threads())
    ens_per_net = statistics.median(ens) / args.nets
    seed_per_net = statistics.median(seed_1)
    per_act = {spec: statistics.median(ensemble_seconds(args.nets, 1, spec)) / args.nets
               for spec in HOMEWORK_SPECS}
    batch = statistics.median(ensemble_seconds(args.nets, args.repeats, mode="batch"))
    ratio = seed_per_net / ens_per_net
    print(json.dumps({
        "task": f"XOR 2-2-1 relu, {EPOCHS} epochs, lr {LR}, per-sample SGD in order",
        "nets": args.nets, "repeats": args.repeats, "seed_nets_timed": args.seed_nets,
        "ensemble_median_s": statistics.median(ens), "ensemble_runs_s": ens,
        "ensemble_s_per_net": ens_per_net,
        "seed_loop_median_s_per_net": seed_per_net, "seed_loop_runs_s": seed_1,
        "seed_loop_median_s_per_net_default_threads": statistics.median(seed_default),
        "seed_loop_s_for_all_nets_estimated": seed_per_net * args.nets,
        "speedup_per_net": ratio, "goal": GOAL, "goal_met": ratio >= GOAL,
        "ensemble_s_per_net_by_activation": per_act,
        "ensemble_batch_mode_median_s": batch,
        "check_seed_weights_max_abs_diff_vs_seed_code_float32": seed_check(),
        "machine": {"python": platform.python_version(), "numpy": np.__version__,
                    "torch": torch.__version__, "cpus": os.cpu_count(),
                    "torch_default_threads": torch.get_num_threads(),
                    "processor": platform.processor() or platform.machine()},
    }, indent=1))


if __name__ == "__main__":
    main()
