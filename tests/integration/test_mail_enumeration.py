"""Nothing observable tells a known address from an unknown one (a password reset) or a taken
new address from a free one (a change of email): once each request is fully processed, its
letter sent, every series on /metrics has risen by the same amounts. Timing series are
compared by their counts (how long each took is the answers' own comparison, elsewhere).
And each letter's log lines carry the id of the request that wrote it."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Awaitable, Callable

import pytest
from prometheus_client.parser import text_string_to_metric_families

from coatcheck.entrypoints.http.keys import SERVICES
from tests.integration.conftest import REGISTRATION, Client
from tests.integration.http import register, settled
from tests.integration.mailbox import Mailbox
from tests.integration.test_email_address import ask_change

Series = Counter[tuple[str, tuple[tuple[str, str], ...]]]
_TIMES = ("_bucket", "_sum", "_created")


def scrape(client: Client) -> Series:
    text = client.app[SERVICES].metrics.exposition().decode()
    series: Series = Counter()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if family.type == "histogram" and sample.name.endswith(_TIMES[:2]):
                continue
            if sample.name.endswith("_created"):
                continue
            series[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return series


def risen(before: Series, after: Series) -> dict[object, float]:
    keys = set(before) | set(after)
    return {key: after[key] - before[key] for key in keys if after[key] != before[key]}


async def each_risen_alike(
    client: Client, first: Callable[[], Awaitable[None]], second: Callable[[], Awaitable[None]]
) -> dict[object, float]:
    await settled(client)
    start = scrape(client)
    await first()
    await settled(client)
    middle = scrape(client)
    await second()
    await settled(client)
    end = scrape(client)
    assert risen(start, middle) == risen(middle, end)
    return risen(middle, end)


async def test_a_reset_for_a_known_and_an_unknown_address_leave_the_same_metrics(
    mail_client: Client, mailbox: Mailbox
) -> None:
    client = mail_client
    await register(client)
    client.session.cookie_jar.clear()

    async def reset(email: str) -> None:
        response = await client.post("/authentication/password-reset", json={"email": email})
        assert response.status == 202

    rise = await each_risen_alike(
        client, lambda: reset(REGISTRATION["email"]), lambda: reset("nobody@example.com")
    )
    assert rise[("coatcheck_outbox_sent_total", ())] == 1
    assert any(name == "coatcheck_store_round_trip_seconds_count" for name, _ in rise)


async def test_a_change_to_a_taken_and_to_a_free_address_leave_the_same_metrics(
    mail_client: Client, mailbox: Mailbox
) -> None:
    client = mail_client
    bob = {"email": "bob@example.com", "name": "Bob", "password": "bob's own password"}
    assert (await client.post("/authentication/register", json=bob)).status == 201
    client.session.cookie_jar.clear()
    await register(client)

    async def change(email: str) -> None:
        assert (await ask_change(client, email)).status == 202

    rise = await each_risen_alike(
        client, lambda: change("bob@example.com"), lambda: change("free@example.com")
    )
    assert rise[("coatcheck_outbox_sent_total", ())] == 1


async def test_each_letters_log_lines_carry_the_id_of_the_request_that_wrote_it(
    mail_client: Client, mailbox: Mailbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "coatcheck.email")
    client = mail_client
    ids = []
    for email in ("one@example.com", "two@example.com", "three@example.com"):
        response = await client.post("/authentication/password-reset", json={"email": email})
        ids.append(response.headers["X-Request-ID"])
    await settled(client)

    sent = [record for record in caplog.records if record.getMessage() == "email sent"]
    assert sorted(getattr(record, "request_id", None) for record in sent) == sorted(ids)
    assert len(set(ids)) == 3
