"""Secrets in an artifact store URL (user:password, query values) never reach a message: not the
library's errors and ``repr``, not the real ``atlas`` command's output."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from atlas.core.artifacts import ArtifactStore
from atlas.core.errors import ConfigError, NotFoundError
from atlas.core.redact import redact_url, scrub
from atlas.serve.feedback import FeedbackLog, FeedbackWriteError, PredictionRecord

ATLAS = str(Path(sys.executable).with_name("atlas"))
SECRETS = ("AKIAEXAMPLE", "wJalrXUtnFEMI", "pa55word", "tok3n-value")
S3_URL = f"s3://bucket/atlas?access_key={SECRETS[0]}&secret={SECRETS[1]}"
BOGUS_URL = f"bogus://alice:{SECRETS[2]}@host/x?token={SECRETS[3]}"
HTTPS_URL = f"https://alice:{SECRETS[2]}@127.0.0.1:1/x?token={SECRETS[3]}"


def _clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, text


def test_redact_url_hides_credentials_and_query_values_but_keeps_keys() -> None:
    assert redact_url(S3_URL) == "s3://bucket/atlas?access_key=***&secret=***"
    assert redact_url(HTTPS_URL) == "https://***@127.0.0.1:1/x?token=***"
    assert redact_url("https://h/x?a=1#frag") == "https://h/x?a=***#***"


def test_urls_without_secrets_are_unchanged() -> None:
    for url in ("/srv/atlas/artifacts", "memory://atlas", "s3://bucket/path", "gs://b/p/q"):
        assert redact_url(url) == url


def test_an_unparseable_url_is_not_echoed() -> None:
    assert SECRETS[2] not in redact_url(f"https://u:{SECRETS[2]}@[::1/x")


def test_scrub_removes_the_url_and_its_secrets_from_a_library_message() -> None:
    text = f"FileNotFoundError: {HTTPS_URL} (stripped: /x?token={SECRETS[3]})"
    scrubbed = scrub(text, HTTPS_URL)
    _clean(scrubbed)
    assert "https://***@127.0.0.1:1/x?token=***" in scrubbed


@pytest.mark.parametrize("url", [S3_URL, BOGUS_URL])
def test_an_invalid_store_url_names_the_url_without_its_secrets(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        ArtifactStore(url)
    _clean(str(caught.value))
    assert redact_url(url) in caught.value.message


def test_repr_and_missing_artifact_errors_hide_secrets() -> None:
    url = f"memory://atlas-{uuid.uuid4().hex}?token={SECRETS[3]}"
    store = ArtifactStore(url)
    _clean(repr(store))
    with pytest.raises(NotFoundError) as caught:
        store.read_bytes("models/none")
    _clean(str(caught.value))
    assert "token=***" in caught.value.message


def _record() -> PredictionRecord:
    return PredictionRecord(
        request_id="r1",
        model="risk",
        version=1,
        inputs={"x": 1.0},
        output={"prediction": 0.5},
        latency_ms=1.0,
    )


def test_a_feedback_log_write_error_hides_the_url_secrets(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    url = f"file://{blocker}/feedback?token={SECRETS[3]}"
    feedback = FeedbackLog(url, retry_s=0.01)
    feedback.record(_record())
    with pytest.raises(FeedbackWriteError) as caught:
        feedback.flush()
    _clean(str(caught.value))
    _clean(feedback.last_error or "")
    assert "token=***" in caught.value.message
    blocker.unlink()  # the storage recovers: close() writes what was kept
    feedback.close()


def _atlas(home: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATLAS_")}
    env |= {"ATLAS_HOME": str(home), "ATLAS_ARTIFACTS_URL": url, "COLUMNS": "200"}
    return subprocess.run(
        [ATLAS, *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


@pytest.mark.parametrize("url", [S3_URL, BOGUS_URL])
def test_the_command_names_an_invalid_store_url_without_secrets(tmp_path: Path, url: str) -> None:
    result = _atlas(tmp_path / "home", url, "init")
    assert result.returncode == 2, (result.stdout, result.stderr)
    first = result.stderr.strip().splitlines()[0]
    assert first.startswith("error: ") and redact_url(url) in first, result.stderr
    _clean(result.stdout + result.stderr)


def test_atlas_init_shows_the_store_url_without_secrets(tmp_path: Path) -> None:
    result = _atlas(tmp_path / "home", HTTPS_URL, "init")
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert "https://***@127.0.0.1:1/x?token=***" in result.stdout
    _clean(result.stdout + result.stderr)
