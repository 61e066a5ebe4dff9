"""Tabular torch networks: an architecture in ``config.json`` plus weights (no pickle).

The network class lives here, in the registry layer, so a server can rebuild it without the
AutoML code. The weights are a ``state_dict`` in safetensors format when that package is
installed, otherwise ``torch.save``'s zip format read back with ``weights_only=True`` (tensors
only, never arbitrary objects). Preprocessing is part of the network: numeric columns are
median-imputed and standardized with statistics held as buffers, optionally with missing
indicators; each categorical column (float codes, NaN missing) goes through an embedding whose
index 0 is reserved for missing and unseen codes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from atlas.core.errors import IntegrityError, MissingDependencyError

try:
    import torch
    from torch import nn
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise MissingDependencyError("torch", "mlp") from exc

_safetensors: Any
try:
    import safetensors.torch as _safetensors
except ImportError:  # pragma: no cover - safetensors ships with the mlp extra
    _safetensors = None

CONFIG = "config.json"
SAFETENSORS = "model.safetensors"
TORCH_FILE = "state_dict.pt"
PREDICT_BATCH = 65536


def embedding_dim(cardinality: int) -> int:
    """A common rule of thumb for embedding width, capped so small tables stay small."""
    return int(min(32, max(2, round(1.6 * cardinality**0.56))))


class TabularMLP(nn.Module):
    """Raw float features (NaN missing) -> logits (n, k) or standardized values (n, 1)."""

    numeric_idx: torch.Tensor
    categorical_idx: torch.Tensor
    indicator_idx: torch.Tensor
    fill: torch.Tensor
    center: torch.Tensor
    scale: torch.Tensor

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        self.config = config
        n_features = int(config["n_features"])
        categorical = [int(i) for i in config["categorical"]]
        numeric = [i for i in range(n_features) if i not in categorical]
        indicator = [int(i) for i in config.get("indicator", [])]
        self.register_buffer(
            "numeric_idx", torch.tensor(numeric, dtype=torch.long), persistent=False
        )
        self.register_buffer(
            "categorical_idx", torch.tensor(categorical, dtype=torch.long), persistent=False
        )
        self.register_buffer(
            "indicator_idx", torch.tensor(indicator, dtype=torch.long), persistent=False
        )
        self.numeric = numeric
        self.register_buffer("fill", torch.zeros(len(numeric)))
        self.register_buffer("center", torch.zeros(len(numeric)))
        self.register_buffer("scale", torch.ones(len(numeric)))
        cards = [int(c) for c in config["cardinalities"]]
        self.cardinalities = cards
        self.embeddings = nn.ModuleList(nn.Embedding(c, embedding_dim(c)) for c in cards)
        width = len(numeric) + len(indicator) + sum(embedding_dim(c) for c in cards)
        layers: list[nn.Module] = []
        for hidden in config["hidden"]:
            layers += [nn.Linear(width, int(hidden)), nn.ReLU(), nn.Dropout(config["dropout"])]
            width = int(hidden)
        out = 1 if config["task"] == "regression" else int(config["n_classes"])
        layers.append(nn.Linear(width, out))
        self.body = nn.Sequential(*layers)

    def set_statistics(self, x: np.ndarray) -> None:
        """Median, mean and std of the numeric columns of training data ``x``."""
        numeric = x[:, self.numeric]
        if numeric.shape[1] == 0:
            return
        with np.errstate(all="ignore"):
            median = np.nan_to_num(np.nanmedian(numeric, axis=0)) if len(numeric) else 0.0
            filled = np.where(np.isnan(numeric), median, numeric)
            std = filled.std(axis=0)
        self.fill.copy_(torch.as_tensor(median, dtype=torch.float32))
        self.center.copy_(torch.as_tensor(filled.mean(axis=0), dtype=torch.float32))
        self.scale.copy_(torch.as_tensor(np.where(std > 1e-12, std, 1.0), dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = []
        numeric = x[:, self.numeric_idx]
        numeric = torch.where(torch.isnan(numeric), self.fill, numeric)
        numeric = (numeric - self.center) / self.scale
        parts.append(torch.nan_to_num(numeric, posinf=0.0, neginf=0.0))
        if len(self.indicator_idx):
            parts.append(torch.isnan(x[:, self.indicator_idx]).to(x.dtype))
        codes = x[:, self.categorical_idx]
        pairs = zip(self.embeddings, self.cardinalities, strict=True)
        for j, (embedding, cardinality) in enumerate(pairs):
            col = codes[:, j]
            ok = torch.isfinite(col) & (col >= 0) & (col < cardinality - 1)
            index = torch.where(ok, col + 1, torch.zeros_like(col)).long()
            parts.append(embedding(index))
        result: torch.Tensor = self.body(torch.cat(parts, dim=1))
        return result


class TorchPredictor:
    """Runs a :class:`TabularMLP` in eval mode without gradients."""

    def __init__(self, module: TabularMLP) -> None:
        self.module = module
        self.task = str(module.config["task"])

    def predict(self, x: np.ndarray) -> np.ndarray:
        self.module.eval()
        outputs = []
        data = torch.as_tensor(np.asarray(x, dtype=np.float32))
        with torch.no_grad():
            for start in range(0, max(len(data), 1), PREDICT_BATCH):
                outputs.append(self.module(data[start : start + PREDICT_BATCH]))
        out = torch.cat(outputs) if outputs else torch.zeros((0, 1))
        if self.task == "regression":
            config = self.module.config
            values = out[:, 0].double() * float(config["y_std"]) + float(config["y_mean"])
            return values.numpy()
        return torch.softmax(out.double(), dim=1).numpy()


def save(module: TabularMLP, folder: Path) -> str:
    (folder / CONFIG).write_text(json.dumps(module.config, indent=2, sort_keys=True))
    state = {k: v.detach().contiguous().clone() for k, v in module.state_dict().items()}
    if _safetensors is not None:
        _safetensors.save_file(state, str(folder / SAFETENSORS))
        return SAFETENSORS
    torch.save(state, folder / TORCH_FILE)
    return TORCH_FILE


def load(path: Path, task: str) -> TorchPredictor:
    config = json.loads((path.parent / CONFIG).read_text())
    if config["task"] != task:
        raise IntegrityError(
            f"{path} holds a {config['task']} network, but the manifest says {task}.",
            hint="Only register packages built by ATLAS; this one is inconsistent.",
        )
    if path.suffix == ".safetensors":
        if _safetensors is None:
            raise MissingDependencyError("safetensors", "mlp")
        state = _safetensors.load_file(str(path))
    else:
        state = torch.load(path, map_location="cpu", weights_only=True)
    module = TabularMLP(config)
    module.load_state_dict(state)
    module.eval()
    return TorchPredictor(module)
