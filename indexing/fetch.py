"""Polite, bounded HTTP fetching of feeds and article pages, with an on-disk conditional-GET cache.

Built on httpx (already installed with python-telegram-bot) rather than a crawling
framework: the rules are few and each is visible here.

- Only http(s). Every host is resolved first and the request goes to the address that was
  checked (Host header and TLS SNI keep the name), so DNS cannot answer differently between
  the check and the connection. Private, loopback, link-local, multicast and reserved
  addresses are refused unless `allow_private` (ISNAD_FETCH_ALLOW_PRIVATE=1). Proxies from
  the environment are not used, since they would connect to names we did not check.
- Redirects are followed by hand, at most `max_redirects`, each hop checked like the first.
- A User-Agent naming isnad; a connect/read timeout and a deadline for the whole request
  (a server that trickles bytes cannot hold a worker); a size cap on the bytes actually
  read (decompressed), whatever Content-Length claims.
- At most `per_host` requests at a time to one host and `concurrency` in all.
- Conditional GET: the ETag / Last-Modified of every answer is kept in the cache folder with
  its body, so an unchanged feed costs one request answered 304, and its entries are still
  there to index.

    FetchError     one URL could not be fetched (the reason is one line)
    └── Refused    refused before any request: scheme, address or redirect rules
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import json
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from indexing.atomic import write_atomically

USER_AGENT = "isnad/0.1 (Arabic news archive indexer; feeds and article pages)"
T = TypeVar("T")


class FetchError(Exception):
    """One URL could not be fetched; str() is the reason in one line."""


class Refused(FetchError):
    """Refused before any request was made (scheme, address or redirect rules)."""


@dataclass(frozen=True)
class FetchConfig:
    """The bounds every request keeps."""

    timeout: float = 15.0  # connect, read and pool waits, each
    deadline: float = 60.0  # the whole request, redirects included
    max_bytes: int = 5 * 2**20
    max_redirects: int = 5
    per_host: int = 2
    concurrency: int = 8
    allow_private: bool = False
    user_agent: str = USER_AGENT


@dataclass(frozen=True)
class Fetched:
    """A fetched body; `not_modified` when the server answered 304 and the cached copy is given."""

    url: str  # the final URL, after redirects
    body: bytes
    not_modified: bool = False


def _ip_allowed(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


@dataclass
class _Cache:
    """ETag / Last-Modified and body per URL, in a folder of the data dir."""

    folder: Path | None

    def _paths(self, url: str) -> tuple[Path, Path] | None:
        if self.folder is None:
            return None
        key = hashlib.sha1(url.encode()).hexdigest()
        return self.folder / f"{key}.json", self.folder / f"{key}.body"

    def get(self, url: str) -> tuple[dict[str, str], bytes] | None:
        paths = self._paths(url)
        if paths is None or not paths[0].is_file() or not paths[1].is_file():
            return None
        try:
            return json.loads(paths[0].read_text("utf-8")), paths[1].read_bytes()
        except (OSError, ValueError):
            return None

    def put(self, url: str, headers: dict[str, str], body: bytes) -> None:
        paths = self._paths(url)
        if paths is None:
            return
        assert self.folder is not None
        self.folder.mkdir(parents=True, exist_ok=True)
        for path, data in ((paths[1], body), (paths[0], json.dumps(headers).encode())):
            write_atomically(path, data)  # a reader never sees half a file


@dataclass
class Fetcher:
    """Fetches URLs under FetchConfig's rules; use inside one event loop (`run_fetches`)."""

    config: FetchConfig = field(default_factory=FetchConfig)
    cache_dir: Path | None = None
    transport: httpx.AsyncBaseTransport | None = None  # tests may swap in their own
    requests: int = 0  # requests actually sent (redirect hops included)

    def __post_init__(self) -> None:
        self._cache = _Cache(self.cache_dir)
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self._all = asyncio.Semaphore(self.config.concurrency)
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(self.config.timeout),
            follow_redirects=False,
            trust_env=False,
            transport=self.transport,
            headers={"User-Agent": self.config.user_agent, "Accept-Encoding": "gzip, deflate"},
        )

    async def close(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()

    async def _address(self, host: str, port: int) -> str:
        """The checked address to connect to for host."""
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise FetchError(f"cannot resolve {host} ({exc})") from None
        addresses = [str(info[4][0]) for info in infos]
        if not addresses:
            raise FetchError(f"cannot resolve {host}")
        if not self.config.allow_private and not all(_ip_allowed(a) for a in addresses):
            raise Refused(
                f"{host} resolves to a private, loopback or link-local address "
                "(set ISNAD_FETCH_ALLOW_PRIVATE=1 to allow it)"
            )
        return addresses[0]

    async def fetch(self, url: str, conditional: bool = True) -> Fetched:
        """GET url within the deadline; a 304 gives the cached body."""
        try:
            return await asyncio.wait_for(self._fetch(url, conditional), self.config.deadline)
        except TimeoutError:
            raise FetchError(f"no complete answer within {self.config.deadline:g} s") from None

    def cached(self, url: str) -> bytes | None:
        """The body kept from an earlier fetch of url, if any."""
        found = self._cache.get(url)
        return found[1] if found else None

    async def _fetch(self, url: str, conditional: bool) -> Fetched:
        current = url
        for _ in range(self.config.max_redirects + 1):
            parts = urlsplit(current)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise Refused(f"only http(s) URLs are fetched, not {current[:80]!r}")
            host = parts.hostname
            port = parts.port or (443 if parts.scheme == "https" else 80)
            semaphore = self._hosts.setdefault(host, asyncio.Semaphore(self.config.per_host))
            async with semaphore, self._all:  # wait for the host first, holding no global slot
                address = await self._address(host, port)
                response = await self._request(current, parts, address, conditional)
            if isinstance(response, Fetched):
                return response
            current = urljoin(current, response)
        raise FetchError(f"more than {self.config.max_redirects} redirects")

    async def _request(self, url: str, parts: Any, address: str, conditional: bool) -> Fetched | str:
        """One request to the checked address: the result, or the next URL of a redirect."""
        netloc = f"[{address}]" if ":" in address else address
        if parts.port:
            netloc += f":{parts.port}"
        pinned = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
        headers = {"Host": parts.netloc.rsplit("@", 1)[-1]}
        cached = self._cache.get(url) if conditional else None
        if cached:
            if cached[0].get("etag"):
                headers["If-None-Match"] = cached[0]["etag"]
            if cached[0].get("last_modified"):
                headers["If-Modified-Since"] = cached[0]["last_modified"]
        extensions = {"sni_hostname": parts.hostname} if parts.scheme == "https" else {}
        self.requests += 1
        try:
            request = self._client.build_request("GET", pinned, headers=headers, extensions=extensions)
            response = await self._client.send(request, stream=True)
        except httpx.TimeoutException as exc:
            raise FetchError(f"{type(exc).__name__}: no answer within {self.config.timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise FetchError(f"{type(exc).__name__}: {exc}".rstrip(": ")) from None
        try:
            if response.status_code in (301, 302, 303, 307, 308) and response.headers.get("location"):
                return response.headers["location"]
            if response.status_code == 304 and cached:
                return Fetched(url, cached[1], not_modified=True)
            if response.status_code != 200:
                raise FetchError(f"HTTP {response.status_code}")
            body = await self._read_capped(response)
        finally:
            await response.aclose()
        validators = {
            "etag": response.headers.get("etag", ""),
            "last_modified": response.headers.get("last-modified", ""),
        }
        self._cache.put(url, validators, body)
        return Fetched(url, body)

    async def _read_capped(self, response: httpx.Response) -> bytes:
        limit = self.config.max_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            megabytes = int(declared) // 2**20
            raise FetchError(f"larger than the {limit // 2**20} MB limit ({megabytes} MB declared)")
        chunks: list[bytes] = []
        size = 0
        try:
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > limit:
                    raise FetchError(f"larger than the {limit // 2**20} MB limit")
                chunks.append(chunk)
        except httpx.TimeoutException as exc:
            raise FetchError(f"{type(exc).__name__}: stalled for {self.config.timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise FetchError(f"{type(exc).__name__}: {exc}".rstrip(": ")) from None
        return b"".join(chunks)


def run_fetches(
    config: FetchConfig,
    cache_dir: Path | None,
    work: Callable[[Fetcher], Awaitable[T]],
    transport: httpx.AsyncBaseTransport | None = None,
) -> tuple[T, int]:
    """Run async work with a fresh Fetcher on its own event loop; returns its result and request count.

    The indexer is synchronous and may itself run in a worker thread of the bot, so the
    fetches get an event loop of their own here.
    """

    async def main() -> tuple[T, int]:
        fetcher = Fetcher(config, cache_dir, transport)
        try:
            return await work(fetcher), fetcher.requests
        finally:
            await fetcher.close()

    return asyncio.run(main())


async def gather_settled(tasks: Sequence[Awaitable[T]]) -> list[T | BaseException]:
    """Every task's result or exception, in order (one failure never cancels the rest)."""
    return list(await asyncio.gather(*tasks, return_exceptions=True))
