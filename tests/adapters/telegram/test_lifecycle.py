"""Start-up and shutdown: command menus, a refused token, the proxy, and ``python -m bot run``."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import ClientSession, web

from bot.adapters.telegram import TelegramAdapter, TelegramStartError
from bot.adapters.telegram import adapter as adapter_module
from bot.app import open_app
from bot.core.models import UserRef
from bot.errors import ConfigurationError
from tests.adapters.telegram.conftest import SettingsFactory, eventually, free_port, running, texts_to
from tests.fakes.telegram_api import FakeTelegramBotAPI
from tests.fakes.telegram_objects import ALICE, BOB, TgUser
from tests.fakes.workers_ai import FakeWorkersAI, ok

ROOT = Path(__file__).resolve().parents[3]


def user_ref_for(user: TgUser) -> UserRef:
    return UserRef(platform="telegram", user_id=str(user.id), chat_id=str(user.id))


async def test_command_menus_are_published_at_start_up(
    make_settings: SettingsFactory, tg: FakeTelegramBotAPI, workers: FakeWorkersAI
) -> None:
    async with running(make_settings(ADMIN_IDS=f"{BOB.id},999"), tg, workers):
        pass
    menus = {
        (call.params.get("scope", {}).get("chat_id"), call.params.get("language_code", "")): call.params[
            "commands"
        ]
        for call in tg.calls_of("setMyCommands")
        if call.ok
    }
    names = {key: [command["command"] for command in commands] for key, commands in menus.items()}
    assert names[None, ""] == ["imagine", "help", "quota"]
    assert names[BOB.id, ""] == names[999, ""] == ["imagine", "help", "quota", "accounts"]
    assert menus[None, "ja"][0]["description"].startswith("絵を描く")
    assert {"de", "es", "fr", "ja", "ru", "zh"} <= {language for _, language in menus}


async def test_a_refused_token_is_a_configuration_error_without_the_token(
    make_settings: SettingsFactory, tg: FakeTelegramBotAPI, workers: FakeWorkersAI
) -> None:
    settings = make_settings(TELEGRAM_BOT_TOKEN="654321:WRONG-token-never-to-be-printed")
    async with open_app(settings) as app:
        adapter = TelegramAdapter(settings, app.service, albums=app.storage.albums)
        with pytest.raises(ConfigurationError) as raised:
            await adapter.start()
        await adapter.stop()  # harmless after a failed start
    assert raised.value.variable == "TELEGRAM_BOT_TOKEN"
    assert "WRONG" not in str(raised.value) and raised.value.__cause__ is None
    assert raised.value.__suppress_context__


async def test_an_unreachable_api_fails_start_up_clearly(
    make_settings: SettingsFactory, workers: FakeWorkersAI
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    settings = make_settings(TELEGRAM_API_BASE_URL=f"{dead}/bot", TELEGRAM_FILE_BASE_URL=f"{dead}/file/bot")
    token = settings.telegram_bot_token
    assert token is not None
    async with open_app(settings) as app:
        with pytest.raises(TelegramStartError) as raised:
            await TelegramAdapter(settings, app.service, albums=app.storage.albums).start()
    assert "cannot reach Telegram" in str(raised.value)
    assert token.get_secret_value() not in str(raised.value)


class ForwardProxy:
    """A plain-HTTP forward proxy on 127.0.0.1 that records the URLs it relays."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def relay(self, request: web.Request) -> web.Response:
        self.seen.append(str(request.url))
        skip = {"host", "content-length", "transfer-encoding", "connection", "proxy-connection"}
        headers = {name: value for name, value in request.headers.items() if name.lower() not in skip}
        async with (
            ClientSession() as session,
            session.request(
                request.method, str(request.url), data=await request.read(), headers=headers
            ) as upstream,
        ):
            body = await upstream.read()
            return web.Response(
                body=body, status=upstream.status, headers={"Content-Type": upstream.headers["Content-Type"]}
            )

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[ForwardProxy]:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self.relay)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        try:
            yield self
        finally:
            await self._runner.cleanup()


async def test_telegram_traffic_goes_through_the_configured_proxy(
    make_settings: SettingsFactory, tg: FakeTelegramBotAPI, workers: FakeWorkersAI
) -> None:
    async with ForwardProxy().serving() as proxy, running(make_settings(PROXY_URL=proxy.url), tg, workers):
        tg.send_text("/quota")
        await tg.wait_for("sendMessage")
    relayed = {url.rsplit("/", 1)[-1] for url in proxy.seen}
    assert {"getMe", "getUpdates", "sendMessage"} <= relayed
    assert all(url.startswith(tg.base_url) for url in proxy.seen)


async def test_python_m_bot_run_serves_one_imagine_and_exits_cleanly_on_sigterm(
    tg: FakeTelegramBotAPI, workers: FakeWorkersAI, tmp_path: Path
) -> None:
    base = {
        k: v for k, v in os.environ.items() if not k.startswith(("CF_", "ACCOUNT_", "TELEGRAM_", "DISCORD_"))
    }
    env = base | {
        "PYTHONPATH": str(ROOT),
        "NO_PROXY": "127.0.0.1,localhost",
        "CF_API_TOKEN_1": "cf-token-1",
        "ACCOUNT_1": "acc1",
        "CF_API_BASE_URL": workers.base_url,
        "DATABASE_PATH": str(tmp_path / "db.sqlite3"),
        "TELEGRAM_BOT_TOKEN": tg.token,
        "TELEGRAM_API_BASE_URL": tg.base_url,
        "TELEGRAM_FILE_BASE_URL": tg.base_file_url,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    stderr = asyncio.create_task(process.stderr.read())
    try:
        async with asyncio.timeout(60):
            first_line = (await process.stdout.readline()).decode()
        assert first_line.strip() == "Telegram is running.", first_line + (await stderr).decode()
        tg.send_text("/imagine a lighthouse in a storm 16:9")
        (photo,) = await tg.wait_for("sendPhoto", timeout=60)
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(60):
            code = await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    log = (await stderr).decode()
    assert code == 0, log
    assert photo.ok and len(workers.calls) == 1
    assert tg.token not in log and tg.token.split(":")[1] not in log


async def test_stop_waits_a_bounded_time_for_a_generation_then_tells_the_user_and_refunds(
    make_settings: SettingsFactory,
    tg: FakeTelegramBotAPI,
    workers: FakeWorkersAI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(adapter_module, "STOP_GRACE_SECONDS", 0.2)
    workers.script("acc1", ok(delay=120))  # would hang far beyond the grace period
    settings = make_settings(RATE_LIMIT_PER_DAY="5")
    async with open_app(settings) as app:
        adapter = TelegramAdapter(settings, app.service, albums=app.storage.albums)
        await adapter.start()
        tg.send_text("/imagine a cathedral that takes forever")
        await eventually(lambda: len(workers.calls) == 1)
        await adapter.stop()
        quota = await app.service.quota(user_ref_for(ALICE))
    assert texts_to(tg, ALICE.id)[-1].startswith("The bot is restarting and could not finish your image.")
    assert tg.calls_of("sendPhoto") == []
    assert not [
        m for m in tg.sent_messages(ALICE.id) if m.get("text", "").startswith(("Painting", "Polishing"))
    ]
    assert quota.used_today == 0  # the cut-short image does not count
