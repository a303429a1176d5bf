"""Reference images given as ``http(s)`` URLs: fetched only from public addresses, with a size cap.

The host name is resolved once, every address is checked (no loopback, private, link-local, multicast or
reserved range), and the connection goes to the checked address itself (TLS still verifies the host name), so
a DNS answer cannot change between the check and the connection. Redirects are followed by hand, each one checked.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

import httpx

from bot.errors import InvalidReference
from bot.i18n.texts import reference_too_large

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
AddressPolicy = Callable[[IpAddress], bool]

MAX_REDIRECTS = 3
FETCH_TIMEOUT_SECONDS = 15.0


def is_public_address(address: IpAddress) -> bool:
    """True for globally routable unicast addresses only (``is_global`` excludes private and shared ranges)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not (address.is_multicast or address.is_reserved or address.is_loopback)


def download_failed() -> InvalidReference:
    return InvalidReference("The reference image could not be downloaded.", code="download_failed")


class PublicImageFetcher:
    """Downloads reference images from the public internet only (``allow`` is the address policy)."""

    def __init__(self, *, max_bytes: int, allow: AddressPolicy = is_public_address) -> None:
        self.max_bytes = max_bytes
        self._allow = allow

    async def fetch(self, url: str) -> bytes:
        """The body at ``url``; ``InvalidReference`` for a refused address, a failure, or more than ``max_bytes``."""
        async with httpx.AsyncClient(
            timeout=FETCH_TIMEOUT_SECONDS, trust_env=False, follow_redirects=False
        ) as client:
            for _ in range(MAX_REDIRECTS + 1):
                target, host = await self._checked(url)
                try:
                    async with client.stream(
                        "GET",
                        target,
                        headers={"host": host, "accept": "image/*"},
                        extensions={"sni_hostname": urlsplit(url).hostname or host},
                    ) as response:
                        if response.is_redirect and "location" in response.headers:
                            url = str(httpx.URL(url).join(response.headers["location"]))
                            continue
                        if response.status_code != 200:
                            raise download_failed()
                        return await self._read(response)
                except httpx.HTTPError:
                    raise download_failed() from None
        raise download_failed()

    async def _checked(self, url: str) -> tuple[str, str]:
        """The URL rewritten to a checked address, and the Host header."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
            raise InvalidReference("Only http and https image URLs can be used.", code="bad_url")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        address = await self._resolve(parts.hostname, port)
        shown = f"[{address}]" if address.version == 6 else str(address)
        netloc = f"{shown}:{port}"
        host = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
        return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, "")), host

    async def _resolve(self, hostname: str, port: int) -> IpAddress:
        try:
            literal: IpAddress | None = ipaddress.ip_address(hostname)
        except ValueError:
            literal = None
        if literal is not None:
            addresses = [literal]
        else:
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(hostname, port, type=socket.SOCK_STREAM)
            except OSError:
                raise download_failed() from None
            addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
        # Every address must pass: a name that also resolves to a private one is refused outright.
        if not addresses or not all(self._allow(address) for address in addresses):
            raise InvalidReference(
                "That image URL points to a private or local address, which this server does not fetch.",
                code="private_address",
            )
        return addresses[0]

    async def _read(self, response: httpx.Response) -> bytes:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise reference_too_large(int(declared), self.max_bytes)
        data = bytearray()
        async for chunk in response.aiter_bytes():
            data += chunk
            if len(data) > self.max_bytes:
                raise reference_too_large(len(data), self.max_bytes)
        return bytes(data)
