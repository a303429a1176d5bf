"""``imagine-bot`` / ``python -m bot``: run (default), generate, doctor, accounts, migrate-db."""

from __future__ import annotations

import argparse
import asyncio
import re
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from bot.adapters import ChatAdapter
from bot.app import App, open_app
from bot.core.models import GenerationRequest, PromptOptions, UserRef
from bot.errors import ConfigurationError, ImagineError, StorageUnavailable
from bot.i18n import describe_error
from bot.logs import configure_logging
from bot.providers.base import TokenCheck, TokenState
from bot.settings import AccountConfig, Settings, load_settings

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2

Printer = Callable[[str], None]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="imagine-bot", description="FLUX image bot for Telegram and Discord."
    )
    parser.add_argument("--env-file", default=".env", help="settings file to read (default: .env)")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run", help="start every configured chat platform (the default)")
    generate = commands.add_parser("generate", help="make one image from the command line")
    generate.add_argument(
        "prompt", help='prompt text, ratio suffix and flags as in chat, e.g. "a lighthouse 16:9"'
    )
    generate.add_argument("--ref", action="append", default=[], type=Path, help="reference image (up to 4)")
    generate.add_argument("--out", type=Path, help="output file (default: named after the prompt and seed)")
    generate.add_argument("--seed", type=int, help="seed (default: random)")
    generate.add_argument("--raw", action="store_true", help="skip prompt optimisation")
    commands.add_parser("doctor", help="check the settings and every account's token")
    commands.add_parser("accounts", help="show each account's stored state and today's usage")
    commands.add_parser(
        "migrate-db",
        help="copy the SQLite database (DATABASE_PATH) into the empty PostgreSQL one (DATABASE_URL)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the command line, build the settings once, run the command, exit with its code."""
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(args.env_file)
    except ConfigurationError as exc:
        print(f"Configuration error: {exc.variable}: {exc.problem}", file=sys.stderr)
        sys.exit(EXIT_CONFIG)
    redactor = configure_logging(settings.log_level, settings.secrets)

    def say(text: str) -> None:
        print(redactor(text), flush=True)

    command = args.command or "run"
    try:
        code = asyncio.run(_dispatch(command, args, settings, say))
    except KeyboardInterrupt:
        code = 130
    except StorageUnavailable as exc:
        print(f"Database error: {exc}", file=sys.stderr)
        code = EXIT_FAILED
    sys.exit(code)


async def _dispatch(command: str, args: argparse.Namespace, settings: Settings, say: Printer) -> int:
    if command == "run":
        return await run_bot(settings, say)
    if command == "migrate-db":
        return await migrate_db(settings, say)
    try:
        async with open_app(settings) as app:
            if command == "generate":
                return await generate(app, args, say)
            if command == "doctor":
                return await doctor(app, say)
            return await show_accounts(app, say)
    except ImagineError as exc:
        say(f"Error: {describe_error(exc)}")
        return EXIT_FAILED


def configured_adapters(app: App, states: dict[str, bool] | None = None) -> list[ChatAdapter]:
    """The adapters whose settings are present. Imported lazily so one platform's library never loads the other.

    ``states`` (adapter name → running), kept current by ``run``, is what the HTTP side's ``/health`` reports.
    """
    adapters: list[ChatAdapter] = []
    webhook = None
    if app.settings.telegram_bot_token is not None:
        from bot.adapters.telegram import TelegramAdapter

        telegram = TelegramAdapter(app.settings, app.service, albums=app.storage.albums)
        webhook = telegram.webhook
        adapters.append(telegram)
    if app.settings.discord_bot_token is not None:
        from bot.adapters.discord import DiscordAdapter

        adapters.append(DiscordAdapter(app.settings, app.service))
    if app.settings.http_enabled:
        from bot.adapters.http import build_http_adapter

        # started after Telegram and stopped before it: webhook updates stop coming before Telegram drains
        adapters.append(build_http_adapter(app, states if states is not None else {}, webhook=webhook))
    return adapters


async def run_bot(settings: Settings, say: Printer) -> int:
    """Start every configured chat platform in one event loop and run until SIGINT/SIGTERM."""
    if (
        settings.telegram_bot_token is None
        and settings.discord_bot_token is None
        and not settings.http_enabled
    ):
        say(
            "Nothing to run is configured. Set TELEGRAM_BOT_TOKEN (Telegram), DISCORD_BOT_TOKEN (Discord) and/or "
            "API_KEYS (the HTTP API; HTTP_PORT to choose its port) in the environment or .env, and at least one "
            "Cloudflare account (CF_API_TOKEN_1 + ACCOUNT_1)."
        )
        return EXIT_CONFIG
    if not settings.accounts:
        say(
            "No Cloudflare account is configured: set CF_API_TOKEN_1 and ACCOUNT_1 (or CF_ACCOUNT_ID and CF_API_TOKEN)."
        )
        return EXIT_CONFIG
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with open_app(settings) as app:
        states: dict[str, bool] = {}
        adapters = configured_adapters(app, states)
        states.update((adapter.name, False) for adapter in adapters)
        if not adapters:
            say("No chat adapter could be started for the configured tokens.")
            return EXIT_CONFIG
        started: list[ChatAdapter] = []
        try:
            for adapter in adapters:
                try:
                    await adapter.start()
                except ConfigurationError as exc:
                    say(f"{adapter.name} could not start: {exc.variable}: {exc.problem}")
                    return EXIT_CONFIG
                except Exception as exc:  # a refused token or an unreachable server: one line, no traceback
                    say(f"{adapter.name} could not start: {exc}")
                    return EXIT_FAILED
                started.append(adapter)
                states[adapter.name] = True
                say(f"{adapter.name} is running.")
            await stop.wait()
        finally:
            for adapter in reversed(started):
                states[adapter.name] = False
                await adapter.stop()
    return EXIT_OK


async def generate(app: App, args: argparse.Namespace, say: Printer) -> int:
    """One generation through the same service as the chats, as an operator (no user limits)."""
    try:
        references = tuple(path.read_bytes() for path in args.ref)
    except OSError as exc:
        say(f"Error: cannot read reference image {exc.filename}: {exc.strerror}.")
        return EXIT_FAILED
    request = GenerationRequest(
        user=UserRef(platform="cli", user_id="operator"),
        text=args.prompt,
        references=references,
        options=PromptOptions(seed=args.seed, raw=args.raw),
        bypass_limits=True,
    )
    result = await app.service.generate(request)
    out: Path = args.out or Path(f"{_slug(result.original_prompt)}-{result.seed}.{result.file_extension}")
    await asyncio.to_thread(out.write_bytes, result.image)
    say(f"Prompt:       {result.original_prompt}")
    say(f"Final prompt: {result.final_prompt}")
    if result.optimisation_skipped_reason:
        say(f"Note:         prompt used as written ({result.optimisation_skipped_reason})")
    say(f"Size:         {result.size}")
    say(f"Seed:         {result.seed}")
    say(f"Model:        {result.model}")
    say(f"Account:      #{result.account_index} ({result.upstream_calls} upstream call(s))")
    say(f"Saved:        {out}")
    return EXIT_OK


async def doctor(app: App, say: Printer) -> int:
    """Check every account's token; exit non-zero when none works."""
    settings = app.settings
    say(f"Workers AI:   {settings.cf_api_base_url}")
    say(f"Model:        {settings.flux_model} (references: {settings.flux_reference_model})")
    say(f"Database:     {settings.database_label}")
    say(f"Telegram:     {'configured' if settings.telegram_bot_token else 'not configured'}")
    say(f"Discord:      {'configured' if settings.discord_bot_token else 'not configured'}")
    say(f"Optimiser:    {'on' if settings.prompt_optimization else 'off'}")
    if not settings.accounts:
        say("Accounts:     none configured (set CF_API_TOKEN_1 and ACCOUNT_1)")
        return EXIT_FAILED
    # Per-read timeouts do not stop an upstream that trickles a byte now and then: bound each check whole.
    deadline = settings.http_connect_timeout_seconds + 2 * settings.http_timeout_seconds
    checks = await asyncio.gather(*(_verify_within(app, account, deadline) for account in settings.accounts))
    working = 0
    say(f"{'account':<10} {'id':<8} status")
    for account, check in zip(settings.accounts, checks, strict=True):
        working += check.state is TokenState.ACTIVE
        detail = f" ({check.detail})" if check.detail else ""
        say(f"#{account.index:<9} …{account.account_id[-4:]:<7} {check.state.value}{detail}")
    say(f"{working} of {len(settings.accounts)} account(s) working.")
    return EXIT_OK if working else EXIT_FAILED


async def _verify_within(app: App, account: AccountConfig, deadline: float) -> TokenCheck:
    """The token check of one account (two calls at most), or "unreachable" once ``deadline`` passes."""
    try:
        async with asyncio.timeout(deadline):
            return await app.provider.verify_token(account)
    except TimeoutError:
        return TokenCheck(TokenState.UNREACHABLE, f"no complete answer within {deadline:g} s")


async def show_accounts(app: App, say: Printer) -> int:
    """Each account's stored state and today's usage."""
    statuses = await app.service.account_statuses()
    if not statuses:
        say("No Cloudflare account is configured.")
        return EXIT_FAILED
    say(f"{'account':<12} {'state':<14} {'until (UTC)':<18} {'images':>6} {'neurons':>9}")
    for status in statuses:
        until = status.until.strftime("%Y-%m-%d %H:%M") if status.until else "-"
        say(
            f"{status.label:<12} {status.health.value:<14} {until:<18} {status.images_today:>6} "
            f"{status.neurons_today:>9.0f}" + (f"  {status.reason}" if status.reason else "")
        )
    return EXIT_OK


async def migrate_db(settings: Settings, say: Printer) -> int:
    """Copy DATABASE_PATH into DATABASE_URL, all or nothing; the bot must be stopped meanwhile."""
    from bot.storage.transfer import copy_sqlite_to_postgres

    if settings.database_url is None:
        say("Set DATABASE_URL=postgresql://... to the (empty) database to copy into.")
        return EXIT_CONFIG
    say(f"Copying SQLite {settings.database_path} into {settings.database_label} ...")
    try:
        copied = await copy_sqlite_to_postgres(
            settings.database_path, settings.database_url.get_secret_value()
        )
    except ConfigurationError as exc:
        say(f"Nothing copied: {exc.variable}: {exc.problem}")
        return EXIT_CONFIG
    for table, rows in copied.items():
        say(f"{table:<16} {rows} rows")
    say("Done. Keep DATABASE_URL set from now on; the SQLite file is left as it was.")
    return EXIT_OK


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:40].rstrip("-") or "image"
