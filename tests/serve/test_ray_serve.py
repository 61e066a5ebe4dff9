"""`atlas serve --ray`: the same app as Ray Serve replicas, on a local Ray instance, built by the
same factory as `atlas serve` (feedback log and live monitor included)."""

from __future__ import annotations

import socket
import time

import httpx
import numpy as np
import pytest

from atlas.registry import ModelRegistry


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def ray_instance(sqlite_settings):
    import ray  # a dev dependency (atlas-ml[ray]): missing it is a failure, not a skip
    from ray import serve

    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"ATLAS_HOME": str(sqlite_settings.home)}},
    )
    yield serve
    serve.shutdown()
    ray.shutdown()


def test_ray_serve_answers_like_the_package(sqlite_settings, make_draft, ray_instance) -> None:
    from atlas.serve import ray_serve

    registry = ModelRegistry.from_settings(sqlite_settings)
    draft = make_draft()
    registry.register("credit", draft)
    port = _free_port()
    ray_serve.run({}, host="127.0.0.1", port=port, num_replicas=2, feedback=True, blocking=False)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{url}/v2/health/ready", timeout=5).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "Ray Serve did not come up"
        time.sleep(0.5)
    rows = draft.frame.head(5).to_dict(orient="records")
    rows = [
        {k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()} for r in rows
    ]
    answer = httpx.post(f"{url}/v1/models/credit:predict", json={"records": rows}, timeout=30)
    assert answer.status_code == 200, answer.text
    got = [
        [p["probabilities"]["bad"], p["probabilities"]["good"]]
        for p in answer.json()["predictions"]
    ]
    np.testing.assert_allclose(got, draft.expected[:5], rtol=1e-7)
    bad = httpx.post(f"{url}/v1/models/ghost:predict", json={"records": rows[:1]}, timeout=30)
    assert bad.status_code == 404
    metrics = httpx.get(f"{url}/metrics", timeout=30).text
    assert "atlas_feedback_written" in metrics  # the replica has the live monitor
