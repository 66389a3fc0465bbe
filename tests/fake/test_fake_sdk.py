"""The official Webshare SDK (webshare-sdk, a client nobody here wrote) pages through the fake.

The SDK follows ``next`` verbatim, so against a strict cursor it loses the unread rest of any
tie group that straddles a page boundary. These tests pin exactly that: everything when no group
straddles, and precisely the straddling remainders when some do.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import polars as pl
from webshare import Webshare

from wsframes.fake import FakeWebshare


def sdk_rows(fake: FakeWebshare, api_key: str, now: datetime, page_size: int) -> Counter[tuple]:
    client = Webshare(api_key=api_key, base_url=fake.base_url)
    page = client.proxy_activity.list(
        timestamp__gte=now - timedelta(days=7), timestamp__lte=now, page_size=page_size
    )
    return Counter((a.timestamp, a.hostname, int(a.bytes or 0), a.request_duration)
                   for a in page)


def truth_rows(df: pl.DataFrame) -> Counter[tuple]:
    return Counter(df.select("timestamp", "hostname", "bytes", "request_duration").iter_rows())


def strict_cursor_keeps(df: pl.DataFrame, page: int) -> pl.DataFrame:
    """Independent model: rows a client following a strict cursor reads (newest first)."""
    desc = df.reverse()
    stamps = desc["timestamp"].to_list()
    keep: list[int] = []
    i = 0
    while i < len(stamps):
        chunk = range(i, min(i + page, len(stamps)))
        keep.extend(chunk)
        i = chunk[-1] + 1
        while i < len(stamps) and stamps[i] == stamps[chunk[-1]]:
            i += 1
    return desc[keep]


def test_sdk_reads_every_record_when_no_tie_straddles(
    plan1: pl.DataFrame, api_key: str, now: datetime
) -> None:
    unique = plan1.unique("timestamp", keep="first", maintain_order=True)
    with FakeWebshare(api_key, plans={1: unique}, page_cap=1000, now=now) as fake:
        got = sdk_rows(fake, api_key, now, page_size=250)
        pages = fake.request_count
    assert got == truth_rows(unique)
    assert pages == -(-unique.height // 250)


def test_sdk_loses_exactly_the_straddling_remainders(
    plan1: pl.DataFrame, api_key: str, now: datetime
) -> None:
    with FakeWebshare(api_key, plans={1: plan1}, page_cap=1000, now=now) as fake:
        got = sdk_rows(fake, api_key, now, page_size=90)
    expected = strict_cursor_keeps(plan1, 90)
    assert expected.height < plan1.height  # the data does straddle at this page size
    assert got == truth_rows(expected)
    lost = truth_rows(plan1) - got
    lost_stamps = {row[0] for row in lost}
    # Every lost record belongs to a tie group that the SDK saw part of.
    assert lost_stamps <= {row[0] for row in got}


def test_sdk_reads_stats_token_and_csv(
    plan1: pl.DataFrame, api_key: str, now: datetime
) -> None:
    with FakeWebshare(api_key, plans={1: plan1}, now=now) as fake:
        client = Webshare(api_key=api_key, base_url=fake.base_url)
        window = {"timestamp__gte": now - timedelta(days=3), "timestamp__lte": now}
        hours = client.stats.list(**window)
        agg = client.stats.aggregate(**window)
        token = client.download_tokens.get("activity")
        assert token.key is not None
        text = client.proxy_activity.download(download_token=token.key, **window)
        rotated = client.download_tokens.reset("activity")
    assert sum(h.requests_total or 0 for h in hours) == agg.requests_total == plan1.height
    assert all(h.timestamp is not None and h.timestamp.tzinfo for h in hours)
    assert token.scope == "activity" and rotated.key != token.key
    assert text.count("\n") == plan1.height + 1  # header + one line per record
