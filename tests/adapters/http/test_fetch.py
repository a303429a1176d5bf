"""Reference URLs: public addresses only (every redirect checked again), and a size cap while reading."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from bot.adapters.http.fetch import IpAddress, PublicImageFetcher, is_public_address
from bot.errors import InvalidReference
from tests.fakes.loopback import serve_on_loopback

IMAGE = b"\x89PNG\r\n\x1a\n" + b"p" * 500


def only_this_loopback(address: IpAddress) -> bool:
    """Tests cannot reach a public address: let 127.0.0.1 stand in for one, and nothing else."""
    return address == ipaddress.ip_address("127.0.0.1")


@pytest.fixture
async def origin() -> AsyncIterator[str]:
    async def image(_: web.Request) -> web.Response:
        return web.Response(body=IMAGE, content_type="image/png")

    async def chunked(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        for _ in range(10):
            await response.write(b"x" * 200)
        await response.write_eof()
        return response

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound(request.query["to"])

    app = web.Application()
    app.router.add_get("/image.png", image)
    app.router.add_get("/chunked", chunked)
    app.router.add_get("/redirect", redirect)
    runner, port = await serve_on_loopback(app)
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # cloud metadata
        ("100.64.0.1", False),  # carrier-grade NAT
        ("0.0.0.0", False),
        ("::1", False),
        ("fd00::1", False),
        ("fe80::1", False),
        ("::ffff:127.0.0.1", False),  # IPv4-mapped loopback
        ("224.0.0.1", False),
    ],
)
def test_only_public_unicast_addresses_pass(address: str, public: bool) -> None:
    assert is_public_address(ipaddress.ip_address(address)) is public


async def test_the_default_policy_refuses_loopback(origin: str) -> None:
    with pytest.raises(InvalidReference) as refused:
        await PublicImageFetcher(max_bytes=10_000).fetch(f"{origin}/image.png")
    assert refused.value.code == "private_address"


async def test_an_allowed_address_is_fetched(origin: str) -> None:
    fetcher = PublicImageFetcher(max_bytes=10_000, allow=only_this_loopback)
    assert await fetcher.fetch(f"{origin}/image.png") == IMAGE


async def test_a_redirect_to_a_refused_address_is_refused(origin: str) -> None:
    fetcher = PublicImageFetcher(max_bytes=10_000, allow=only_this_loopback)
    port = origin.rsplit(":", 1)[1]
    assert await fetcher.fetch(f"{origin}/redirect?to=/image.png") == IMAGE  # followed, and checked again
    with pytest.raises(InvalidReference) as refused:
        await fetcher.fetch(f"{origin}/redirect?to=http://127.0.0.2:{port}/image.png")
    assert refused.value.code == "private_address"


async def test_bodies_over_the_cap_are_refused_by_length_or_while_reading(origin: str) -> None:
    fetcher = PublicImageFetcher(max_bytes=100, allow=only_this_loopback)
    for path in ("/image.png", "/chunked"):
        with pytest.raises(InvalidReference) as refused:
            await fetcher.fetch(f"{origin}{path}")
        assert refused.value.code == "too_large"


async def test_other_schemes_and_credentials_in_urls_are_refused() -> None:
    fetcher = PublicImageFetcher(max_bytes=100)
    for url in ("file:///etc/passwd", "ftp://example.com/a.png", "http://user:pass@example.com/a.png"):
        with pytest.raises(InvalidReference) as refused:
            await fetcher.fetch(url)
        assert refused.value.code == "bad_url"
