"""Data sets: the four XOR samples, scikit-learn's moons and circles, or a data file.

A data set is n inputs x (n, d) and, optionally, n labels y: binary targets 0/1 or classes
0..k-1. Files are read by ``actlab.io.load_data``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from actlab.errors import ActlabError

BUILTIN_DATASETS = ("xor", "moons", "circles", "digits", "digits-test")


@dataclass(frozen=True)
class Dataset:
    """Inputs ``x`` (n, d) and optional labels ``y`` (n,), both float64."""

    x: NDArray[np.float64]
    y: NDArray[np.float64] | None
    name: str = "data"

    @property
    def num_classes(self) -> int:
        """Number of classes: max label + 1, at least 2."""
        if self.y is None:
            raise ActlabError(f"{self.name} has no labels")
        return max(2, int(np.max(self.y)) + 1)

    def labels(self) -> NDArray[np.float64]:
        """The labels; ActlabError when there are none."""
        if self.y is None:
            raise ActlabError(f"{self.name} has no labels (\"y\"); training needs them")
        return self.y

    def to_dict(self) -> dict:
        return {"x": self.x.tolist(), **({} if self.y is None else {"y": self.y.tolist()})}


def xor() -> Dataset:
    """The homework's four samples: (0,0)->0, (0,1)->1, (1,0)->1, (1,1)->0."""
    return Dataset(np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]),
                   np.array([0.0, 1.0, 1.0, 0.0]), "xor")


def moons(n: int = 200, noise: float = 0.1, seed: int = 0) -> Dataset:
    """scikit-learn's two interleaving half circles (make_moons), labels 0/1."""
    from sklearn.datasets import make_moons

    x, y = make_moons(n_samples=n, noise=noise, random_state=seed)
    return Dataset(x.astype(np.float64), y.astype(np.float64), "moons")


def circles(n: int = 200, noise: float = 0.05, factor: float = 0.5, seed: int = 0) -> Dataset:
    """scikit-learn's two concentric circles (make_circles), labels 0/1."""
    from sklearn.datasets import make_circles

    x, y = make_circles(n_samples=n, noise=noise, factor=factor, random_state=seed)
    return Dataset(x.astype(np.float64), y.astype(np.float64), "circles")


def digits(split: str = "train") -> Dataset:
    """scikit-learn's bundled 8x8 digits (1797 images, no download), pixels scaled to [0, 1]
    (x / 16), classes 0-9; a fixed stratified 80/20 split: ``train`` (1437) or ``test`` (360)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    x, y = bunch.data / 16.0, bunch.target.astype(np.float64)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=0,
                                                        stratify=y)
    if split == "train":
        return Dataset(x_train, y_train, "digits")
    return Dataset(x_test, y_test, "digits-test")


def load_dataset(name_or_path: str, seed: int = 0) -> Dataset:
    """``xor``, ``moons``, ``circles`` (generated with ``seed``) or a data file's path."""
    key = name_or_path.strip().lower()
    if key == "xor":
        return xor()
    if key == "moons":
        return moons(seed=seed)
    if key == "circles":
        return circles(seed=seed)
    if key in ("digits", "digits-test"):
        return digits("train" if key == "digits" else "test")
    from actlab.io import load_data

    if not Path(name_or_path).exists() and "." not in Path(name_or_path).name:
        raise ActlabError(f"unknown data set {name_or_path!r}: use "
                          f"{', '.join(BUILTIN_DATASETS)} or a data file")
    return load_data(name_or_path)
