"""Built-in models: the homework's XOR network before and after the seed's training.

``xor-initial``: f(x) = sigmoid(w . relu(W x + c) + b) with W = [[1, 1], [1, 1]], c = [0, -1],
w = [1, -2], b = -0.5. ``xor-trained``: the same network after the seed's protocol (100 epochs of
per-sample SGD in order, lr 0.1, BCE, PyTorch float32), computed on first use and cached.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from actlab.data import Dataset, xor
from actlab.errors import ActlabError
from actlab.network import Network

XOR_W = [[1.0, 1.0], [1.0, 1.0]]
XOR_C = [0.0, -1.0]
XOR_w = [[1.0, -2.0]]
XOR_B = [-0.5]
SEED_EPOCHS = 100
SEED_LR = 0.1


def xor_initial() -> Network:
    """The seed's 2-2-1 network with its initial weights (relu hidden layer, sigmoid head)."""
    return Network.from_arrays([XOR_W, XOR_w], [XOR_C, XOR_B], ["relu", "sigmoid"],
                               name="xor-initial")


@functools.cache
def xor_trained() -> Network:
    """xor-initial after the seed's training protocol (cached in memory after the first call)."""
    from actlab.train import seed_training

    run = seed_training(xor_initial(), xor(), epochs=SEED_EPOCHS, lr=SEED_LR)
    return Network(run.network.layers, name="xor-trained")


BUILTIN_MODELS: dict[str, Callable[[], Network]] = {
    "xor-initial": xor_initial,
    "xor-trained": xor_trained,
}


def is_builtin(name: str) -> bool:
    """True when ``name`` is a built-in model's name."""
    return name.strip().lower() in BUILTIN_MODELS


def builtin_model(name: str) -> Network:
    """The built-in model called ``name``."""
    key = name.strip().lower()
    if key not in BUILTIN_MODELS:
        raise ActlabError(f"unknown built-in model {name!r} (known: {', '.join(BUILTIN_MODELS)})")
    return BUILTIN_MODELS[key]()


def builtin_data(name: str) -> Dataset:
    """The samples a built-in model comes with (the four XOR samples and their labels)."""
    builtin_model(name)  # validates the name
    return xor()
