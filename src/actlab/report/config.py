"""The report's parameters: every number of the homework, read from TOML (``tomllib``).

``DEFAULT_TOML`` is the homework as set (and the documentation of every key); a config file
overrides any subset of it. Unknown tables or keys and bad values raise one ActlabError that
names the key, e.g. ``config v.toml: xor.W[1][0]: must be a finite number, got 'a'``.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from actlab.activations import parse_activation
from actlab.data import Dataset
from actlab.errors import ActlabError
from actlab.network import Network
from actlab.regions import Thresholds

NORMS = ("l2", "linf", "l1")
MAX_HIDDEN = 8
MAX_SAMPLES = 16
MAX_EPOCHS = 10_000
MAX_Q = 41
MAX_ACTIVATIONS = 12
TRAINING_KEYS = ("W", "c", "w", "b", "x", "y", "lr", "epochs")

DEFAULT_TOML = """\
# actlab report: the homework's parameters. Every key is optional: a key left out keeps the
# value shown here (the homework as set). Run: actlab report --out DIR --config THIS_FILE

[activations]
# Section 1: activation specs (NAME or NAME:key=value,..., as in `actlab regions --act`).
specs = ["relu", "sigmoid", "plu:alpha=0.2,c=1", "swish:beta=1", "elu:alpha=0.1", "gelu"]
fast = 0.99                 # fast: |f'| > fast
slow = 0.01                 # active: slow <= |f'| <= fast; slow: 0 < |f'| < slow; inactive: f' = 0
plot_range = [-5.0, 5.0]    # x range of the gradient plots

[xor]
# Sections 2-5: f(x) = sigmoid(w . relu(W x + c) + b); W is (hidden, 2), c and w (hidden,).
W = [[1.0, 1.0], [1.0, 1.0]]
c = [0.0, -1.0]
w = [1.0, -2.0]
b = -0.5
x = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]   # the samples (2 inputs each)
y = [0, 1, 1, 0]                                         # their labels (0 or 1)

[training]
# Section 3: the seed's loop (per-sample SGD in order, BCE, PyTorch float32).
lr = 0.1
epochs = 100

[oae]
# Section 4: optimal adversarial examples of the initial and the trained network.
norms = ["l2"]              # any of "l2", "linf", "l1"
# box = [0.0, 1.0]          # optional: inputs constrained to [lo, hi] in every coordinate

[jumprelu]
# Section 5: ReLU replaced by JumpReLU (x if x >= q else 0) in the trained network.
# q: "auto" (0 to beyond the largest pre-activation, 41 steps, plus every exact threshold
# where a distance changes) or a list of values >= 0, e.g. [0.0, 0.1, 0.5, 0.7, 1.0]
q = "auto"
norm = "l2"
"""


@dataclass(frozen=True)
class ReportConfig:
    """Every parameter of the report (validated). ``source`` names the file it came from."""

    specs: tuple[str, ...]
    fast: float
    slow: float
    plot_range: tuple[float, float]
    W: tuple[tuple[float, ...], ...]
    c: tuple[float, ...]
    w: tuple[float, ...]
    b: float
    x: tuple[tuple[float, ...], ...]
    y: tuple[float, ...]
    lr: float
    epochs: int
    norms: tuple[str, ...]
    box: tuple[float, float] | None
    q: tuple[float, ...] | None      # None: the library's grid ("auto")
    jumprelu_norm: str
    source: str | None = field(default=None, compare=False)

    def network(self) -> Network:
        """The initial network: relu hidden layer, sigmoid head; named ``xor-initial`` when it
        is the homework's (as the built-in model), else ``initial``."""
        name = "xor-initial" if self._same(("W", "c", "w", "b")) else "initial"
        return Network.from_arrays([self.W, [self.w]], [self.c, [self.b]], ["relu", "sigmoid"],
                                   name=name)

    def trained_name(self) -> str:
        """``xor-trained`` when the network, samples and training are the homework's."""
        return "xor-trained" if self._same(TRAINING_KEYS) else "trained"

    def _same(self, keys: tuple[str, ...]) -> bool:
        default = default_config()
        return all(getattr(self, k) == getattr(default, k) for k in keys)

    def dataset(self) -> Dataset:
        """The samples and labels."""
        import numpy as np

        return Dataset(np.array(self.x, dtype=float), np.array(self.y, dtype=float), "xor")

    def is_homework(self) -> bool:
        """True when the network, samples, training and thresholds are the homework's own
        (the setting the seed's statements are about)."""
        return self._same((*TRAINING_KEYS, "fast", "slow"))

    def to_dict(self) -> dict[str, Any]:
        """Nested like the TOML file (box left out when unset)."""
        oae: dict[str, Any] = {"norms": list(self.norms)}
        if self.box is not None:
            oae["box"] = list(self.box)
        return {
            "activations": {"specs": list(self.specs), "fast": self.fast, "slow": self.slow,
                            "plot_range": list(self.plot_range)},
            "xor": {"W": [list(r) for r in self.W], "c": list(self.c), "w": list(self.w),
                    "b": self.b, "x": [list(r) for r in self.x], "y": list(self.y)},
            "training": {"lr": self.lr, "epochs": self.epochs},
            "oae": oae,
            "jumprelu": {"q": "auto" if self.q is None else list(self.q),
                         "norm": self.jumprelu_norm},
        }

    def to_toml(self) -> str:
        """The configuration as TOML that ``load_config`` reads back to an equal config."""
        lines = []
        for table, values in self.to_dict().items():
            lines.append(f"[{table}]")
            lines.extend(f"{key} = {_toml_value(value)}" for key, value in values.items())
            lines.append("")
        return "\n".join(lines)


def _toml_value(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


# --- validation of single values ----------------------------------------------------------
class _Bad(Exception):
    """A value problem at a key path (turned into an ActlabError with the source)."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")


def _entries(n: int) -> str:
    return f"{n} entr{'y' if n == 1 else 'ies'}"


def _number(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Bad(key, f"must be a finite number, got {value!r}")
    if not math.isfinite(value):
        raise _Bad(key, f"must be a finite number, got {value!r}")
    return float(value)


def _list(value: Any, key: str, length: int | None = None, low: int = 1,
          high: int | None = None) -> list[Any]:
    if not isinstance(value, list):
        raise _Bad(key, f"must be a list, got {value!r}")
    if length is not None and len(value) != length:
        raise _Bad(key, f"must have {_entries(length)}, got {len(value)}")
    if len(value) < low or (high is not None and len(value) > high):
        limit = f"{low} to {high}" if high is not None else f"at least {low}"
        raise _Bad(key, f"must have {limit} entries, got {len(value)}")
    return value


def _vector(value: Any, key: str, length: int | None = None, low: int = 1,
            high: int | None = None) -> tuple[float, ...]:
    items = _list(value, key, length, low, high)
    return tuple(_number(v, f"{key}[{i}]") for i, v in enumerate(items))


def _matrix(value: Any, key: str, cols: int, low: int, high: int) -> tuple[tuple[float, ...], ...]:
    rows = _list(value, key, None, low, high)
    return tuple(_vector(r, f"{key}[{i}]", cols) for i, r in enumerate(rows))


def _specs(value: Any, key: str) -> tuple[str, ...]:
    items = _list(value, key, None, 1, MAX_ACTIVATIONS)
    specs = []
    for i, spec in enumerate(items):
        if not isinstance(spec, str):
            raise _Bad(f"{key}[{i}]", f"must be an activation spec (text), got {spec!r}")
        try:
            specs.append(parse_activation(spec).spec)
        except ActlabError as error:
            raise _Bad(f"{key}[{i}]", str(error)) from None
    return tuple(specs)


def _norm(value: Any, key: str) -> str:
    if value not in NORMS:
        raise _Bad(key, f"must be one of {', '.join(NORMS)}, got {value!r}")
    return str(value)


def _norms(value: Any, key: str) -> tuple[str, ...]:
    items = _list(value, key, None, 1, len(NORMS))
    norms = tuple(_norm(v, f"{key}[{i}]") for i, v in enumerate(items))
    if len(set(norms)) != len(norms):
        raise _Bad(key, f"lists a norm twice: {list(norms)}")
    return norms


def _ordered_pair(value: Any, key: str) -> tuple[float, float]:
    lo, hi = _vector(value, key, 2)
    if not lo < hi:
        raise _Bad(key, f"must be [lo, hi] with lo < hi, got {value!r}")
    return lo, hi


def _positive(value: Any, key: str) -> float:
    number = _number(value, key)
    if number <= 0:
        raise _Bad(key, f"must be positive, got {value!r}")
    return number


def _epochs(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_EPOCHS:
        raise _Bad(key, f"must be a whole number from 1 to {MAX_EPOCHS}, got {value!r}")
    return int(value)


def _labels(value: Any, key: str) -> tuple[float, ...]:
    labels = _vector(value, key, None, 1, MAX_SAMPLES)
    for i, label in enumerate(labels):
        if label not in (0.0, 1.0):
            raise _Bad(f"{key}[{i}]", f"must be 0 or 1, got {value[i]!r}")
    return labels


def _q_grid(value: Any, key: str) -> tuple[float, ...] | None:
    if value == "auto":
        return None
    if not isinstance(value, list):
        raise _Bad(key, f'must be "auto" or a list of numbers >= 0, got {value!r}')
    qs = _vector(value, key, None, 1, MAX_Q)
    for i, q in enumerate(qs):
        if q < 0:
            raise _Bad(f"{key}[{i}]", f"must be >= 0 (JumpReLU's threshold), got {value[i]!r}")
    if len(set(qs)) != len(qs):
        raise _Bad(key, "lists a value twice")
    return tuple(sorted(qs))


# --- the schema: table -> key -> (field, reader) -----------------------------------------
SCHEMA: dict[str, dict[str, tuple[str, Any]]] = {
    "activations": {"specs": ("specs", _specs), "fast": ("fast", _number),
                    "slow": ("slow", _number), "plot_range": ("plot_range", _ordered_pair)},
    "xor": {"W": ("W", lambda v, k: _matrix(v, k, 2, 1, MAX_HIDDEN)),
            "c": ("c", lambda v, k: _vector(v, k, None, 1, MAX_HIDDEN)),
            "w": ("w", lambda v, k: _vector(v, k, None, 1, MAX_HIDDEN)),
            "b": ("b", _number),
            "x": ("x", lambda v, k: _matrix(v, k, 2, 1, MAX_SAMPLES)),
            "y": ("y", _labels)},
    "training": {"lr": ("lr", _positive), "epochs": ("epochs", _epochs)},
    "oae": {"norms": ("norms", _norms), "box": ("box", _ordered_pair)},
    "jumprelu": {"q": ("q", _q_grid), "norm": ("jumprelu_norm", _norm)},
}


def _read_tables(data: dict[str, Any]) -> dict[str, Any]:
    """Field values for every key present; unknown tables and keys are errors."""
    fields: dict[str, Any] = {}
    for table, content in data.items():
        if table not in SCHEMA:
            raise _Bad(table, f"unknown table (known: {', '.join(SCHEMA)})")
        if not isinstance(content, dict):
            raise _Bad(table, "must be a table ([" + table + "])")
        for key, value in content.items():
            if key not in SCHEMA[table]:
                raise _Bad(f"{table}.{key}", "unknown key (known in [" + table + "]: "
                           f"{', '.join(SCHEMA[table])})")
            name, reader = SCHEMA[table][key]
            fields[name] = reader(value, f"{table}.{key}")
    return fields


def _check_together(cfg: ReportConfig) -> None:
    """Rules that involve several keys."""
    try:
        Thresholds(cfg.fast, cfg.slow)
    except ActlabError:
        raise _Bad("activations.fast, activations.slow", f"need 0 <= slow <= fast, got "
                   f"slow={cfg.slow:g}, fast={cfg.fast:g}") from None
    hidden = len(cfg.W)
    for key, vec in (("xor.c", cfg.c), ("xor.w", cfg.w)):
        if len(vec) != hidden:
            raise _Bad(key, f"must have {_entries(hidden)} (one per row of xor.W), got "
                       f"{len(vec)}")
    if len(cfg.y) != len(cfg.x):
        raise _Bad("xor.y", f"must have one label per sample ({len(cfg.x)}), got {len(cfg.y)}")
    if cfg.box is not None:
        lo, hi = cfg.box
        for i, point in enumerate(cfg.x):
            if not all(lo <= v <= hi for v in point):
                raise _Bad("oae.box", f"sample xor.x[{i}] = {list(point)} lies outside "
                           f"[{lo:g}, {hi:g}]")


def default_config() -> ReportConfig:
    """The homework as set (``DEFAULT_TOML``)."""
    return _build(tomllib.loads(DEFAULT_TOML), None, None)


def _build(data: dict[str, Any], base: ReportConfig | None, source: str | None) -> ReportConfig:
    fields = _read_tables(data)
    if base is None:
        fields.setdefault("box", None)
        cfg = ReportConfig(**fields, source=source)
    else:
        cfg = replace(base, **fields, source=source)
    _check_together(cfg)
    return cfg


def parse_config(text: str, source: str = "config") -> ReportConfig:
    """A config from TOML text: the defaults overridden by the keys the text sets."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ActlabError(f"{source}: not valid TOML: {error}") from None
    try:
        return _build(data, default_config(), source)
    except _Bad as error:
        raise ActlabError(f"{source}: {error}") from None


def load_config(path: str | Path | None) -> ReportConfig:
    """Read a TOML config file (None: the defaults)."""
    if path is None:
        return default_config()
    file = Path(path)
    if not file.exists():
        raise ActlabError(f"config file {file} does not exist")
    if not file.is_file():
        raise ActlabError(f"config file {file} is not a file")
    if file.stat().st_size > 1_000_000:
        raise ActlabError(f"config file {file} is larger than 1 MB")
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ActlabError(f"cannot read config file {file}: {error}") from None
    return parse_config(text, f"config {file}")
