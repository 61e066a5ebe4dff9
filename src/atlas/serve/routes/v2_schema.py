"""The OpenAPI description of the v2 ``infer`` body, which the endpoint reads itself (JSON
with any content type, or JSON then binary tensor data)."""

from __future__ import annotations

from typing import Any

from atlas.serve.protocol import InferenceRequest

BINARY_NOTE = (
    "With the header Inference-Header-Content-Length: that many bytes of this JSON, then the "
    "binary data of the inputs that declare parameters.binary_data_size (Triton's binary "
    "tensor data extension)."
)


def _inlined(schema: Any, defs: dict[str, Any]) -> Any:
    """``schema`` with its local ``$ref``s replaced by the definitions they point at."""
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inlined(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: _inlined(v, defs) for k, v in schema.items() if k != "$defs"}
    if isinstance(schema, list):
        return [_inlined(v, defs) for v in schema]
    return schema


def request_schema() -> dict[str, Any]:
    schema = InferenceRequest.model_json_schema()
    inlined: dict[str, Any] = _inlined(schema, schema.get("$defs", {}))
    return inlined


INFER_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": BINARY_NOTE,
        "content": {"application/json": {"schema": request_schema()}},
    }
}
