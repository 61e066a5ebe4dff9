"""A multilayer perceptron for tables (torch), an optional extra: ``pip install atlas-ml[mlp]``.

The network (:class:`atlas.registry.flavors.torch_state.TabularMLP`) does its own preprocessing:
median imputation and standardization of numbers (statistics in buffers), missing indicators for
numeric columns that had gaps in training, and an embedding per categorical column. Training is
AdamW on one thread, seeded and deterministic, with early stopping on the validation fold (the
best epoch's weights are kept) and a stop at the deadline. Regression targets are standardized
inside. torch is imported only when a network is fitted, so listing learners stays light.
``info["n_epochs"]`` is the best epoch count, ready to be passed back as ``n_epochs``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import optuna

from atlas.automl.learners.base import Fitted, Learner, fixed_count, out_of_time
from atlas.core.errors import MissingDependencyError

if TYPE_CHECKING:
    from atlas.registry.flavors.torch_state import TabularMLP

MAX_EPOCHS = 200
EPOCHS_WITHOUT_VALIDATION = 30
PATIENCE = 10


def _torch_state() -> Any:
    try:
        from atlas.registry.flavors import torch_state
    except ImportError as exc:  # torch_state raises MissingDependencyError itself
        raise MissingDependencyError("torch", "mlp") from exc
    return torch_state


def batch_size(n_rows: int) -> int:
    """About 64 batches an epoch, a power of two between 32 and 1024."""
    return int(np.clip(2 ** round(math.log2(max(n_rows, 1) / 64)), 32, 1024))


class MLPLearner(Learner):
    name = "mlp"
    requires = ("torch",)
    modules = ("torch", "atlas.registry.flavors.torch_state")
    flavor = "torch"

    def default_params(self) -> dict[str, Any]:
        return {
            self.key("n_layers"): 2,
            self.key("width"): 256,
            self.key("dropout"): 0.1,
            self.key("lr"): 1e-3,
            self.key("weight_decay"): 1e-4,
        }

    def portfolio(self) -> list[dict[str, Any]]:
        return [
            self.default_params(),
            {  # small and quick: small tables
                self.key("n_layers"): 1,
                self.key("width"): 64,
                self.key("dropout"): 0.0,
                self.key("lr"): 3e-3,
                self.key("weight_decay"): 1e-3,
            },
            {  # wide and deep, well regularised: large tables
                self.key("n_layers"): 3,
                self.key("width"): 512,
                self.key("dropout"): 0.3,
                self.key("lr"): 5e-4,
                self.key("weight_decay"): 1e-5,
            },
        ]

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        k = self.key
        return {
            k("n_layers"): trial.suggest_int(k("n_layers"), 1, 3),
            k("width"): trial.suggest_int(k("width"), 32, 512, log=True),
            k("dropout"): trial.suggest_float(k("dropout"), 0.0, 0.5),
            k("lr"): trial.suggest_float(k("lr"), 1e-4, 1e-2, log=True),
            k("weight_decay"): trial.suggest_float(k("weight_decay"), 1e-6, 1e-2, log=True),
            **self.class_weight_choice(trial),
        }

    def _config(self, own: dict[str, Any], x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
        cats = [int(i) for i in self.categorical]
        cardinalities = []
        for j in cats:
            col = x[:, j][np.isfinite(x[:, j])]
            cardinalities.append(int(col.max()) + 2 if len(col) else 2)
        numeric = [j for j in range(x.shape[1]) if j not in cats]
        indicator = [j for j in numeric if np.isnan(x[:, j]).any()]
        y_mean, y_std = 0.0, 1.0
        if self.task == "regression":
            y_mean = float(np.mean(y))
            y_std = float(np.std(y)) or 1.0
        return {
            "n_features": int(x.shape[1]),
            "categorical": cats,
            "cardinalities": cardinalities,
            "indicator": indicator,
            "hidden": [int(own["width"])] * int(own["n_layers"]),
            "dropout": float(own["dropout"]),
            "task": self.task,
            "n_classes": int(self.n_classes),
            "y_mean": y_mean,
            "y_std": y_std,
        }

    def refit_params(self, params: dict[str, Any], infos: list[dict[str, Any]]) -> dict[str, Any]:
        """The mean of the folds' best epoch counts, fixed."""
        return fixed_count(self.key("n_epochs"), params, infos, "n_epochs")

    def fit(
        self,
        params: dict[str, Any],
        x: np.ndarray,
        y: np.ndarray,
        x_val: np.ndarray | None = None,
        y_val: np.ndarray | None = None,
        sample_weight: np.ndarray | None = None,
        deadline: float | None = None,
    ) -> Fitted:
        ts = _torch_state()
        torch = ts.torch
        torch.set_num_threads(1)
        torch.manual_seed(self.seed)
        own = self.own(params)
        has_val = x_val is not None and y_val is not None
        default_epochs = MAX_EPOCHS if has_val else EPOCHS_WITHOUT_VALIDATION
        max_epochs = int(own.get("n_epochs", default_epochs))
        config = self._config(own, x, y)
        module: TabularMLP = ts.TabularMLP(config)
        module.set_statistics(x)
        xt, yt = self._tensors(x, y, config)
        wt = None if sample_weight is None else torch.as_tensor(sample_weight, dtype=torch.float32)
        val = self._tensors(x_val, y_val, config) if has_val else None  # type: ignore[arg-type]
        optimizer = torch.optim.AdamW(
            module.parameters(), lr=float(own["lr"]), weight_decay=float(own["weight_decay"])
        )
        generator = torch.Generator().manual_seed(self.seed)
        size = batch_size(len(xt))
        best_loss, best_epoch, best_state = math.inf, 0, None
        epoch, stop = 0, False
        while epoch < max_epochs and not stop:
            module.train()
            order = torch.randperm(len(xt), generator=generator)
            for start in range(0, len(xt), size):
                if out_of_time(deadline):
                    stop = True
                    break
                index = order[start : start + size]
                losses = self._losses(module(xt[index]), yt[index])
                if wt is None:
                    loss = losses.mean()
                else:
                    w = wt[index]
                    loss = (losses * w).sum() / w.sum().clamp_min(1e-12)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            epoch += 1
            if val is None:
                best_epoch = epoch
                continue
            module.eval()
            with torch.no_grad():
                val_loss = float(self._losses(module(val[0]), val[1]).mean())
            if val_loss < best_loss - 1e-6 or best_state is None:
                best_loss, best_epoch = val_loss, epoch
                best_state = {k: v.detach().clone() for k, v in module.state_dict().items()}
            elif epoch - best_epoch >= PATIENCE:
                break
        if best_state is not None:
            module.load_state_dict(best_state)
        module.eval()
        info: dict[str, Any] = {"n_epochs": max(best_epoch, 1)}
        if math.isfinite(best_loss):
            info["val_loss"] = best_loss
        return Fitted(module, ts.TorchPredictor(module), info)

    def _tensors(self, x: np.ndarray, y: np.ndarray, config: dict[str, Any]) -> tuple[Any, Any]:
        torch = _torch_state().torch
        xt = torch.as_tensor(np.asarray(x, dtype=np.float32))
        if self.task == "regression":
            scaled = (np.asarray(y, dtype=np.float64) - config["y_mean"]) / config["y_std"]
            return xt, torch.as_tensor(scaled, dtype=torch.float32)
        return xt, torch.as_tensor(np.asarray(y, dtype=np.int64))

    def _losses(self, out: Any, target: Any) -> Any:
        """Per-row losses: cross-entropy on logits, squared error on standardized values."""
        functional = _torch_state().torch.nn.functional
        if self.task == "regression":
            return (out[:, 0] - target) ** 2
        return functional.cross_entropy(out, target, reduction="none")

    def estimate_memory(self, n_rows: int, n_features: int) -> int:
        # float32 copies of the data, activations of one batch, the torch runtime
        return n_rows * n_features * 4 * 3 + 256 * 2**20

    def estimate_cost(self, n_rows: int, n_features: int) -> float:
        # ~30 epochs of forward + backward through 256-wide layers
        return 1.8e-8 * n_rows * (256 * n_features + 65536) + 0.5
