"""The README's S3 archive example runs as written, against moto's server and the fake API."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import polars as pl

from wsframes.fake import generate_activity
from wsframes.fake.server import FakeWebshare

README = Path(__file__).resolve().parents[2] / "README.md"


def archive_section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("## Keep history beyond 90 days")
    return text[start:text.index("\n## ", start + 1)]


def test_the_s3_example_runs_as_written(moto_endpoint, s3_archive, monkeypatch):
    # s3_archive points the AWS_* settings and the cache at the test server and a temp dir.
    section = archive_section()
    code = re.findall(r"```python\n(.*?)```", section, flags=re.S)[1]
    assert 'url = "s3://team-data/webshare"' in code and "minio.internal" in code
    boto3.client("s3").create_bucket(Bucket="team-data")  # the README's own bucket, on the test server
    code = code.replace("https://minio.internal:9000", moto_endpoint).replace('"eu-west-1"', '"us-east-1"')
    now = datetime.now(UTC)
    df = generate_activity(2_000, start=now - timedelta(days=10), end=now, seed=4, plan_id=1)
    with FakeWebshare(plans={1: df}, page_cap=1000) as fake:
        monkeypatch.setenv("WEBSHARE_API_KEY", fake.api_key)
        monkeypatch.setenv("WEBSHARE_BASE_URL", fake.base_url)
        scope: dict[str, object] = {}
        exec(compile("import wsframes as wsf\n" + code, str(README), "exec"), scope)
        truth = fake.truth(None)
    ts = pl.col("timestamp")
    assert scope["df"].height == truth.filter(ts >= now - timedelta(days=14)).height  # type: ignore[attr-defined]
    assert scope["lf"].collect().height > 0  # type: ignore[attr-defined]
    # The commands in the section use the same URL.
    assert "wsframes sync --archive s3://team-data/webshare" in section
