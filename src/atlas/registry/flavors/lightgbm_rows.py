"""Few-row LightGBM prediction through LightGBM's single-row "fast" C API.

``Booster.predict`` spends about 20 us of Python and ctypes work per call (input checks, a
prediction config parsed from a string, output buffers) before it walks a tree; a served request
is one row, and an AutoML package holds a dozen boosters, so that set-up is most of a request's
model time. LightGBM's C API has a path made for this case:
``LGBM_BoosterPredictForMatSingleRowFastInit`` parses the config once and
``LGBM_BoosterPredictForMatSingleRowFast`` then predicts one dense row with nothing else
(LightGBM guards it with the booster's own lock; ctypes releases the GIL during the call). The
Python package does not wrap these two functions (LightGBM's R package does), so this module
calls them through the package's loaded library (``lightgbm.basic._LIB``). LightGBM keeps the
number of iterations to predict with in the booster, shared by both paths (the last prediction
set up wins), so the fast path asks for exactly what ``Booster.predict`` uses by default: up to
the best iteration where early stopping set one, else every tree. Should a LightGBM release
drop or rename the functions, :func:`row_predictor` answers ``None`` and the caller keeps
``Booster.predict``.
"""

from __future__ import annotations

import ctypes
import weakref
from collections.abc import Callable
from typing import Any

import lightgbm as lgb
import numpy as np

_PREDICT_NORMAL = 0  # C_API_PREDICT_NORMAL: probabilities / values, as Booster.predict
_DTYPE_FLOAT64 = 1  # C_API_DTYPE_FLOAT64


_PROTOTYPE = ctypes.CFUNCTYPE(
    ctypes.c_int,  # 0, or -1 with the message in LGBM_GetLastError
    ctypes.c_void_p,  # the prepared config
    ctypes.c_void_p,  # the row: ncol float64 values
    ctypes.POINTER(ctypes.c_int64),  # how many values were written
    ctypes.c_void_p,  # where: width float64 values
)


def _library() -> Any | None:
    try:
        from lightgbm.basic import _LIB
    except ImportError:
        return None
    needed = (
        "LGBM_BoosterPredictForMatSingleRowFastInit",
        "LGBM_BoosterPredictForMatSingleRowFast",
        "LGBM_FastConfigFree",
    )
    return _LIB if all(hasattr(_LIB, name) for name in needed) else None


def _check(code: int, lib: Any) -> None:
    if code != 0:
        raise lgb.basic.LightGBMError(lib.LGBM_GetLastError().decode("utf-8"))


def row_predictor(booster: lgb.Booster) -> Callable[[np.ndarray], np.ndarray] | None:
    """A function from one float64 row of ``booster.num_feature()`` values to that row's
    prediction (as ``booster.predict`` gives it: shape (k,)); ``None`` where the fast API is
    missing. The prepared config is freed when the function is garbage-collected."""
    lib = _library()
    if lib is None:
        return None
    booster_handle = booster._handle
    ncol = booster.num_feature()
    iterations = booster.best_iteration if booster.best_iteration > 0 else -1
    config = ctypes.c_void_p()
    _check(
        lib.LGBM_BoosterPredictForMatSingleRowFastInit(
            booster_handle,
            ctypes.c_int(_PREDICT_NORMAL),
            ctypes.c_int(0),  # start iteration
            ctypes.c_int(iterations),
            ctypes.c_int(_DTYPE_FLOAT64),
            ctypes.c_int32(ncol),
            ctypes.c_char_p(b"num_threads=1"),
            ctypes.byref(config),
        ),
        lib,
    )
    width = booster.num_model_per_iteration()  # 1, or the number of classes
    # a typed prototype on the same C function (ctypes then takes plain addresses) that leaves
    # the package's own function object as it is
    address = ctypes.cast(lib.LGBM_BoosterPredictForMatSingleRowFast, ctypes.c_void_p).value
    if address is None:  # not a real function: keep Booster.predict
        lib.LGBM_FastConfigFree(config)
        return None
    predict_row = _PROTOTYPE(address)

    def predict(row: np.ndarray) -> np.ndarray:
        if row.shape != (ncol,) or row.dtype != np.float64 or not row.flags.c_contiguous:
            row = np.ascontiguousarray(row, dtype=np.float64)
            if row.shape != (ncol,):
                raise ValueError(f"the model expects {ncol} features, got a row of {row.shape}.")
        out = np.empty(width, dtype=np.float64)
        written = ctypes.c_int64()
        _check(predict_row(config, row.ctypes.data, ctypes.byref(written), out.ctypes.data), lib)
        return out

    # The config points into the booster: keep the booster alive as long as the function.
    predict.booster = booster  # type: ignore[attr-defined]
    weakref.finalize(predict, lib.LGBM_FastConfigFree, config)
    return predict
