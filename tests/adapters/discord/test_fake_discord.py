"""The fake Discord is only useful if the real discord.py 2.7 accepts it: drive a real Client through it."""

from __future__ import annotations

import asyncio
import gc
import io
import logging
import math
import warnings
from collections.abc import AsyncIterator

import pytest
from PIL import Image

with warnings.catch_warnings():
    # discord.py imports the stdlib audioop (deprecated) for voice, which this bot never uses; with
    # filterwarnings=error the import itself would fail. pyproject should ignore it (see the fake's report).
    warnings.filterwarnings("ignore", "'audioop' is deprecated", DeprecationWarning)
    import discord
    from discord import app_commands
    from discord.http import Route

from tests.fakes.discord_api import FakeDiscord, running_client


def png_bytes(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "purple").save(buffer, format="PNG")
    return buffer.getvalue()


class DescribeModal(discord.ui.Modal, title="Describe"):
    prompt: discord.ui.TextInput[DescribeModal] = discord.ui.TextInput(label="Prompt", custom_id="prompt")

    def __init__(self, probe: ProbeClient) -> None:
        super().__init__(custom_id="describe-modal")
        self.probe = probe

    async def on_submit(self, interaction: discord.Interaction) -> None:
        self.probe.submitted.append(self.prompt.value)
        await interaction.response.send_message(f"prompt: {self.prompt.value}", view=AgainView(self.probe))


class AgainView(discord.ui.View):
    def __init__(self, probe: ProbeClient) -> None:
        super().__init__(timeout=None)
        self.probe = probe

    @discord.ui.button(label="Again", custom_id="again")
    async def again(self, interaction: discord.Interaction, button: discord.ui.Button[AgainView]) -> None:
        self.probe.pressed.append(interaction.user.id)
        await interaction.response.send_message("again!", ephemeral=True)


class ProbeClient(discord.Client):
    """A bot with one command of each kind the adapter will use."""

    def __init__(self) -> None:
        super().__init__(intents=discord.Intents.default(), guild_ready_timeout=0.01)
        self.tree = app_commands.CommandTree(self)
        self.submitted: list[str] = []
        self.pressed: list[int] = []
        self.seen_users: list[discord.User | discord.Member] = []
        self._add_commands()

    def _add_commands(self) -> None:
        @self.tree.command(name="echo", description="Echo text and an image")
        async def echo(interaction: discord.Interaction, text: str, image: discord.Attachment) -> None:
            self.seen_users.append(interaction.user)
            await interaction.response.defer(thinking=True)
            data = await image.read()
            await interaction.followup.send(text, file=discord.File(io.BytesIO(data), filename="echo.png"))

        @self.tree.context_menu(name="Describe")
        async def describe(interaction: discord.Interaction, message: discord.Message) -> None:
            await interaction.response.send_modal(DescribeModal(self))

    async def setup_hook(self) -> None:
        await self.tree.sync()


@pytest.fixture
async def dc() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as fake:
        yield fake


@pytest.fixture
async def bot(dc: FakeDiscord) -> AsyncIterator[ProbeClient]:
    client = ProbeClient()
    async with running_client(dc, client):
        yield client
    assert dc.unknown_routes == []
    assert dc.gateway.problems == []


async def test_commands_are_synced_with_their_options(dc: FakeDiscord, bot: ProbeClient) -> None:
    commands = {c["name"]: c for c in dc.registered_commands}
    assert set(commands) == {"echo", "Describe"}
    assert [(o["name"], o["type"], o.get("required")) for o in commands["echo"]["options"]] == [
        ("text", 3, True),
        ("image", 11, True),
    ]
    assert commands["Describe"]["type"] == 3
    assert all(c["id"].isdigit() and c["application_id"] == dc.app_id for c in commands.values())


async def test_gateway_uses_zlib_stream_and_heartbeats_are_acked(dc: FakeDiscord, bot: ProbeClient) -> None:
    conn = dc.gateway.active
    assert conn.compression == "zlib-stream"
    assert conn.compressed_frames >= 2  # HELLO and READY went out deflated, and discord.py understood READY
    assert conn.identify is not None and "token" not in conn.identify
    for _ in range(500):  # the first heartbeat goes out right after HELLO; wait for its ack to land
        if math.isfinite(bot.latency):
            break
        await asyncio.sleep(0.01)
    assert conn.heartbeats >= 1
    assert math.isfinite(bot.latency)
    assert bot.user is not None and str(bot.user.id) == dc.app_id


async def test_echo_defers_downloads_the_attachment_and_follows_up_with_a_file(
    dc: FakeDiscord, bot: ProbeClient
) -> None:
    image = png_bytes(64, 32)
    attachment = dc.add_attachment(image, "in.png", "image/png")
    assert (attachment["width"], attachment["height"]) == (64, 32)

    interaction = await dc.slash_command("echo", options={"text": "hello", "image": attachment})

    deferred = await dc.wait_for_response(interaction, kind="callback")
    assert deferred.callback_type == 5
    followup = await dc.wait_for_response(interaction, kind="followup")
    assert followup.content == "hello"
    assert [(f.filename, f.data) for f in followup.files] == [("echo.png", image)]
    assert dc.downloads[attachment["id"]] == 1
    # The follow-up filled the "thinking" message, whose attachment is now hosted by the fake.
    assert followup.message is not None and followup.message["id"] == deferred.message["id"]  # type: ignore[index]
    assert followup.message["attachments"][0]["filename"] == "echo.png"
    assert isinstance(bot.seen_users[0], discord.User)


async def test_guild_interactions_carry_a_member(dc: FakeDiscord, bot: ProbeClient) -> None:
    guild_id = "900000000000000001"
    attachment = dc.add_attachment(b"not really a png", "x.png", "image/png")
    interaction = await dc.slash_command("echo", {"text": "hi", "image": attachment}, guild_id=guild_id)
    await dc.wait_for_response(interaction, kind="followup")
    member = bot.seen_users[0]
    assert isinstance(member, discord.Member) and member.guild.id == int(guild_id)
    assert interaction.payload["member"]["user"]["id"] == dc.default_user["id"]


async def test_context_menu_modal_submit_and_button_press(dc: FakeDiscord, bot: ProbeClient) -> None:
    target = dc.make_message("a red fox")
    menu = await dc.message_command("Describe", target_message=target)
    modal = await dc.wait_for_response(menu, kind="callback")
    assert modal.callback_type == 9 and modal.body["custom_id"] == "describe-modal"

    submit = await dc.modal_submit("describe-modal", values={"prompt": "a blue fox"})
    answer = await dc.wait_for_response(submit, kind="callback")
    assert bot.submitted == ["a blue fox"]
    assert answer.content == "prompt: a blue fox" and not answer.ephemeral
    assert answer.body["components"][0]["components"][0]["custom_id"] == "again"

    presser = dc.make_user("200000000000000042", "presser")
    press = await dc.press_button(answer, "again", user=presser)
    reply = await dc.wait_for_response(press, kind="callback")
    assert bot.pressed == [200000000000000042]
    assert reply.ephemeral and reply.flags & 64 == 64 and reply.content == "again!"


async def test_edit_and_delete_original_response(dc: FakeDiscord, bot: ProbeClient) -> None:
    @bot.tree.command(name="edit", description="Edit then delete")
    async def edit(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("first", ephemeral=True)
        await interaction.edit_original_response(content="second")
        original = await interaction.original_response()
        bot.submitted.append(original.content)
        await interaction.delete_original_response()

    interaction = await dc.slash_command("edit")
    assert (await dc.wait_for_response(interaction, kind="edit")).content == "second"
    await dc.wait_for_response(interaction, kind="delete")
    assert bot.submitted == ["second"]
    assert [r.kind for r in dc.responses_for(interaction)] == ["callback", "edit", "delete"]


async def test_unknown_routes_answer_404_and_are_recorded(dc: FakeDiscord) -> None:
    client = ProbeClient()
    async with running_client(dc, client):
        with pytest.raises(discord.NotFound):
            await client.http.request(Route("GET", "/channels/{channel_id}/pins", channel_id=1))
    assert dc.unknown_routes == ["GET /api/v10/channels/1/pins"]


async def test_wrong_token_fails_login_without_leaking_it(dc: FakeDiscord) -> None:
    client = ProbeClient()
    with pytest.raises(discord.LoginFailure) as failure:
        async with running_client(dc, client, token="wrong-secret-token"):
            pass
    assert "wrong-secret-token" not in str(failure.value)
    assert client.is_closed()


async def test_install_is_undone_on_exit() -> None:
    original = Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    async with FakeDiscord() as fake:
        fake.install()
        assert fake.api_base == Route.BASE
    assert original == (Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)


async def test_clean_shutdown_leaves_no_warnings_or_errors(
    dc: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    client = ProbeClient()
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.WARNING, logger="discord"):
        warnings.simplefilter("always")
        async with running_client(dc, client) as connection:
            interaction = await dc.slash_command(
                "echo", {"text": "x", "image": dc.add_attachment(b"x", "x.png")}
            )
            await dc.wait_for_response(interaction, kind="followup")
        del client
        gc.collect()
    assert connection.done() and connection.exception() is None
    # discord.py's close races its own reader, which may send 4000 instead of 1000: only require a close frame.
    assert dc.gateway.connections[0].ws.closed
    assert [str(w.message) for w in caught] == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_rate_limited_follow_up_is_retried_by_discord_py(dc: FakeDiscord, bot: ProbeClient) -> None:
    dc.fail_next("POST", "/webhooks/*", 429, retry_after=0.01)
    interaction = await dc.slash_command("echo", {"text": "slow", "image": dc.add_attachment(b"x", "x.png")})
    followup = await dc.wait_for_response(interaction, kind="followup")
    assert followup.content == "slow"
    posts = [r for r in dc.requests if r.method == "POST" and r.path.startswith("/api/v10/webhooks/")]
    assert len(posts) == 2
    assert len(dc.responses_for(interaction, "followup")) == 1
