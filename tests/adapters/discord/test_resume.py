"""A Discord request whose replica stopped renewing its lease is finished by another one, through the interaction's
webhook: one image in the original "thinking" reply, none from the replica that lost it, charged once.

Two apps on one SQLite file play the two replicas; the first holds the image at a gate (its process "hangs"), the
second takes the request over (its sweep), makes the image and edits the original response with it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bot.adapters.discord.attachments import ReferenceDownloader
from bot.adapters.discord.flow import ImagineFlow
from bot.adapters.discord.resume import DiscordResumer
from bot.app import App, open_app
from bot.core.clock import utc_day
from bot.core.persistence import RequestState
from bot.core.requests import MAYBE_DELIVERED
from bot.i18n import translate
from bot.settings import load_settings
from tests.adapters.discord.conftest import CF_TOKEN, Bot, BotFactory
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.workers_ai import FakeWorkersAI


async def test_another_replica_answers_in_the_original_interaction_and_the_first_sends_nothing(
    start_bot: BotFactory, dc: FakeDiscord, workers: FakeWorkersAI, tmp_path: Path
) -> None:
    async with start_bot(gate="lighthouse") as first:
        assert first.gate is not None
        interaction = await first.imagine("a lighthouse at dusk")
        assert (await dc.wait_for_response(interaction)).callback_type == 5  # "thinking…" for everyone
        await first.gate.held()  # accepted, and its image held upstream: this replica now "hangs"
        request_id = only_request(first)

        async with second_replica(first, workers, tmp_path) as (second, flow):
            assert await second.requests.sweep() == 1  # taken over (one process per file: a previous run's)
            reply = await first.image(interaction)  # the second replica's image, in the original reply
            await flow.shutdown(5)
            await second.pool.drain()
            row = await second.storage.requests.get(request_id)
            assert row is not None and row.state is RequestState.DONE and row.attempts == 2
            user_key = row.user_key
            first.gate.release()  # the first replica's image is made too, but it is no longer its request
            await first.app.pool.drain()
        now = first.app.clock.time()
        used = await first.app.storage.ledger.counts(user_key, now=now, day=utc_day(now))
    assert len(reply.files) == 1 and reply.payload["content"] is None
    # one image reached the channel; the replica that lost the request sent nothing after its "thinking…"
    assert [r.kind for r in dc.responses_for(interaction) if r.files] == ["edit"]
    assert len(workers.calls) == 2 and used.today == 1  # made twice upstream, charged once


async def test_a_request_that_was_being_delivered_is_not_made_again(
    start_bot: BotFactory, dc: FakeDiscord, workers: FakeWorkersAI, tmp_path: Path
) -> None:
    async with start_bot(gate="lighthouse") as first:
        assert first.gate is not None
        interaction = await first.imagine("a lighthouse at dusk")
        await first.gate.held()
        # it dies just as it sends the image: the image may have arrived
        assert await first.app.storage.requests.set_state(
            only_request(first), RequestState.DELIVERING, replica=first.app.requests.replica
        )
        async with second_replica(first, workers, tmp_path) as (second, flow):
            assert await second.requests.sweep() == 1
            note = await dc.wait_for_response(interaction, "edit")
            await flow.shutdown(5)
            first.gate.release()
    assert note.payload["content"] == translate(MAYBE_DELIVERED, "en-US") and not note.files
    assert len(workers.calls) == 1  # never made a second time


def only_request(bot: Bot) -> str:
    """The id of the one request the bot holds."""
    [request_id] = bot.app.requests.held_ids
    return request_id


@asynccontextmanager
async def second_replica(
    first: Bot, workers: FakeWorkersAI, tmp_path: Path
) -> AsyncIterator[tuple[App, ImagineFlow]]:
    """Another app on the same database, answering Discord requests through the first one's HTTP session."""
    environ = {
        "CF_API_TOKEN_1": CF_TOKEN,
        "ACCOUNT_1": "acc1",
        "CF_API_BASE_URL": workers.base_url,
        "DATABASE_PATH": str(tmp_path / "db.sqlite3"),
        "RATE_LIMIT_PER_MINUTE": "0",
    }
    async with open_app(load_settings(None, environ)) as app:
        assert first.adapter.client is not None
        flow = ImagineFlow(app.service, ReferenceDownloader(app.service.config.max_reference_bytes))
        app.requests.register("discord", DiscordResumer(app.service, first.adapter.client, flow.start, 60))
        yield app, flow
