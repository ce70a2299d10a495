"""The SSRF guard: a source fetch may reach only public http(s) servers.

Three layers, each covering what the one before cannot:

- `check_url` refuses, before any I/O, a scheme other than http(s) and a host that is
  an address literal (in any form libc accepts: `127.1`, `2130706433`, `0x7f.1`,
  `[::ffff:127.0.0.1]`) or a `localhost` name that points somewhere forbidden.
- `GuardedResolver` wraps the real resolver: forbidden addresses are dropped from every
  answer, and a name with nothing left is refused. The connector connects only to the
  addresses it returns, so there is no window between checking and connecting (DNS
  rebinding), and every redirect hop resolves through it again.
- aiohttp skips the resolver for address literals (`http://127.0.0.1/`, also as a
  redirect target), so the connector's socket factory checks the address of every
  socket it is about to connect, as the last word.

`allow_private=True` turns the address checks off (development, tests); the scheme
check always applies. The guard assumes no HTTP proxy: through one, the connector only
ever sees the proxy's address.
"""

from __future__ import annotations

import errno
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.connector import AddrInfoType, SocketFactoryType
from yarl import URL

from bot.errors import FetchError

Address = IPv4Address | IPv6Address

ALLOWED_SCHEMES = frozenset({"http", "https"})

_V4_RULES: tuple[tuple[IPv4Network, str], ...] = tuple(
    (IPv4Network(net), reason)
    for net, reason in (
        ("0.0.0.0/8", "an unspecified address"),  # "this network": 0.0.0.0 reaches this host
        ("127.0.0.0/8", "a loopback address"),
        ("10.0.0.0/8", "a private address"),
        ("172.16.0.0/12", "a private address"),
        ("192.168.0.0/16", "a private address"),
        ("100.64.0.0/10", "a carrier-grade NAT address"),
        ("169.254.0.0/16", "a link-local address"),
        ("224.0.0.0/4", "a multicast address"),
        ("255.255.255.255/32", "a broadcast address"),
        ("240.0.0.0/4", "a reserved address"),
        ("192.0.0.0/24", "a reserved address"),
        ("192.88.99.0/24", "a reserved address"),
        ("192.0.2.0/24", "a documentation address"),
        ("198.51.100.0/24", "a documentation address"),
        ("203.0.113.0/24", "a documentation address"),
        ("198.18.0.0/15", "a benchmarking address"),
    )
)

_V6_RULES: tuple[tuple[IPv6Network, str], ...] = tuple(
    (IPv6Network(net), reason)
    for net, reason in (
        ("::/128", "an unspecified address"),
        ("::1/128", "a loopback address"),
        ("fe80::/10", "a link-local address"),
        ("fc00::/7", "a private address"),
        ("fec0::/10", "a private address"),  # site-local, deprecated but still routed locally
        ("64:ff9b:1::/48", "a private address"),  # local-use NAT64
        ("ff00::/8", "a multicast address"),
        ("2001:db8::/32", "a documentation address"),
        ("2001::/23", "a reserved address"),  # IETF protocol assignments, Teredo among them
        ("100::/64", "a reserved address"),  # discard-only
    )
)

_GLOBAL_UNICAST = IPv6Network("2000::/3")
_IPV4_CHARS = re.compile(r"[0-9a-fA-FxX.]+")
_NAT64 = IPv6Network("64:ff9b::/96")


class UnsafeAddress(FetchError):
    """The SSRF guard refused a URL or an address; the message says why, in one line."""


def forbidden_reason(address: Address) -> str | None:
    """Why a fetch from `address` is refused ("a loopback address", …); None when public.

    An IPv6 address that carries an IPv4 one (IPv4-mapped, NAT64, 6to4) is judged by
    the IPv4 address it reaches.
    """
    if isinstance(address, IPv4Address):
        return _first_match(address, _V4_RULES) or _not_global(address)
    inner = _embedded_ipv4(address)
    if inner is not None:
        reason = forbidden_reason(inner)
        return None if reason is None else f"{reason} ({inner} in IPv6 form)"
    reason = _first_match(address, _V6_RULES)
    if reason is None and address not in _GLOBAL_UNICAST:
        reason = "a reserved address"
    return reason or _not_global(address)


def _first_match(
    address: Address, rules: Iterable[tuple[IPv4Network | IPv6Network, str]]
) -> str | None:
    return next((reason for net, reason in rules if address in net), None)


def _not_global(address: Address) -> str | None:
    # Python's own registry table, for whatever the rules above do not name.
    return None if address.is_global else "a non-public address"


def _embedded_ipv4(address: IPv6Address) -> IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def parse_ip(host: str) -> Address | None:
    """The address a URL host denotes literally, in any form libc accepts; None for a name.

    Besides canonical forms this reads the legacy IPv4 forms that `inet_aton` (and so
    `getaddrinfo`) accepts: 1 to 4 parts, each decimal, octal (`0177`) or hex (`0x7f`),
    the last one filling the remaining bytes (`127.1`, `2130706433`). A trailing dot is
    ignored, as the resolver ignores it.
    """
    host = host.rstrip(".")
    if ":" in host:
        try:
            return IPv6Address(host.strip("[]"))
        except ValueError:
            return None
    return _legacy_ipv4(host)


def _legacy_ipv4(host: str) -> IPv4Address | None:
    if _IPV4_CHARS.fullmatch(host) is None:
        return None  # a name: the common case, answered without splitting
    parts = host.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    numbers = [_ipv4_part(part) for part in parts]
    if any(n is None for n in numbers):
        return None
    *leading, last = [n for n in numbers if n is not None]
    if any(n > 0xFF for n in leading) or last >= 1 << (8 * (5 - len(parts))):
        return None
    value = last
    for index, number in enumerate(leading):
        value |= number << (8 * (3 - index))
    return IPv4Address(value)


def _ipv4_part(part: str) -> int | None:
    digits, base = part, 10
    if part[:2].lower() == "0x":
        digits, base = part[2:], 16
    elif len(part) > 1 and part.startswith("0"):
        digits, base = part[1:], 8
    # isascii/isalnum keep out what int() would also take: signs, spaces, "_", other digits.
    if not digits or not digits.isascii() or not digits.isalnum():
        return None
    try:
        return int(digits, base)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Policy:
    """Which peers a fetch may connect to."""

    #: Development and tests: every address is allowed (the scheme check still applies).
    allow_private: bool = False
    #: (address, port) pairs treated as public: an internal feed deliberately allowed,
    #: or, in tests, a loopback server standing in for a public one.
    exempt: frozenset[tuple[Address, int]] = frozenset()

    def reason(self, host: str, port: int) -> str | None:
        """Why connecting to numeric `host` is refused ("a loopback address"); None if allowed."""
        if self.allow_private:
            return None
        try:
            address = ip_address(host)
        except ValueError:
            return "not an IP address"
        if (_unscoped(address), port) in self.exempt:
            return None
        return forbidden_reason(address)


def _unscoped(address: Address) -> Address:
    if isinstance(address, IPv6Address) and address.scope_id:
        return IPv6Address(int(address))
    return address


def _policy(allow_private: bool, exempt: Iterable[tuple[str, int]]) -> Policy:
    pairs = frozenset((ip_address(host), port) for host, port in exempt)
    return Policy(allow_private, pairs)


def check_url(url: str, *, allow_private: bool = False) -> None:
    """Refuse, before any I/O, a URL no fetch may follow.

    Raises `FetchError` for a scheme other than http(s) or a URL without a host, and
    `UnsafeAddress` for a host that is a forbidden address literal or a `localhost`
    name (unless `allow_private`). Names are judged later, when they resolve.
    """
    try:
        parsed = URL(url)
    except (ValueError, TypeError) as exc:
        raise FetchError(f"not a valid URL: {url[:200]!r}") from exc
    if parsed.scheme not in ALLOWED_SCHEMES:
        raise FetchError("only http and https are allowed")
    host = parsed.raw_host
    if not host:
        raise FetchError("the URL has no host")
    if allow_private:
        return
    if _is_localhost(host):
        raise UnsafeAddress(f"refused: {host} is a loopback address")
    address = parse_ip(host)
    reason = None if address is None else forbidden_reason(address)
    if reason is not None:
        shown = host if host == str(address) else f"{host} ({address})"
        raise UnsafeAddress(f"refused: {shown} is {reason}")


def _is_localhost(host: str) -> bool:
    # RFC 6761: localhost and every name under it are the loopback interface.
    name = host.rstrip(".").lower()
    return name == "localhost" or name.endswith(".localhost")


class GuardedResolver(AbstractResolver):
    """A resolver that answers only with addresses the policy allows.

    Forbidden addresses are dropped from the inner resolver's answer; when none is
    left, `resolve` raises `UnsafeAddress` naming the first one and why. aiohttp
    connects only to what this returns (and caches only that), so the address
    checked is the address connected to.
    """

    def __init__(
        self,
        allow_private: bool,
        inner: AbstractResolver | None = None,
        *,
        exempt: Iterable[tuple[str, int]] = (),
    ) -> None:
        self._policy = _policy(allow_private, exempt)
        self._inner = inner if inner is not None else aiohttp.ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        answers = await self._inner.resolve(host, port, family)
        reasons = [self._policy.reason(a["host"], a["port"]) for a in answers]
        allowed = [a for a, reason in zip(answers, reasons, strict=True) if reason is None]
        if allowed or not answers:
            return allowed
        raise UnsafeAddress(f"refused: {host} resolves to {answers[0]['host']}, {reasons[0]}")

    async def close(self) -> None:
        await self._inner.close()


class SocketRefused(OSError):
    """The socket factory's refusal; aiohttp wraps it in `ClientConnectorError`."""


def _guarded_socket(policy: Policy) -> SocketFactoryType:
    def make(addr_info: AddrInfoType) -> socket.socket:
        family, type_, proto, _, sockaddr = addr_info
        host, port = str(sockaddr[0]), int(sockaddr[1])
        reason = policy.reason(host, port)
        if reason is not None:
            # An OSError, so happy eyeballs counts it like any other failed address.
            raise SocketRefused(errno.EACCES, f"refused: {host} is {reason}")
        return socket.socket(family, type_, proto)

    return make


def guarded_connector(
    *,
    allow_private: bool,
    inner: AbstractResolver | None = None,
    exempt: Iterable[tuple[str, int]] = (),
) -> aiohttp.TCPConnector:
    """A connector for source fetches that reaches only addresses the guard allows.

    Must be called with an event loop running (as any `TCPConnector`). `inner` is the
    real resolver (default: the system's, in a thread); `exempt` lists
    `(address, port)` pairs to treat as public.
    """
    exempt = tuple(exempt)
    return aiohttp.TCPConnector(
        resolver=GuardedResolver(allow_private, inner, exempt=exempt),
        socket_factory=_guarded_socket(_policy(allow_private, exempt)),
        limit=100,
        limit_per_host=4,
        ttl_dns_cache=300,
    )


def refusal_behind(exc: BaseException) -> UnsafeAddress | None:
    """The guard's refusal behind an aiohttp error, if that is what it was.

    aiohttp wraps the socket factory's refusal in `ClientConnectorError`, refuses other
    schemes (also as a redirect target) and legacy numeric IPv4 hosts (`2130706433`)
    itself; each becomes `UnsafeAddress` with one line saying why.
    """
    os_error = getattr(exc, "os_error", None)
    if isinstance(os_error, SocketRefused):
        return UnsafeAddress(os_error.strerror or "refused")
    if isinstance(exc, aiohttp.NonHttpUrlRedirectClientError):
        return UnsafeAddress(f"refused: a redirect to {exc} (only http and https are allowed)")
    if isinstance(exc, aiohttp.NonHttpUrlClientError):
        return UnsafeAddress(f"refused: {exc} (only http and https are allowed)")
    if isinstance(exc, aiohttp.InvalidUrlClientError):
        address = parse_ip(str(exc.url))
        if address is not None:
            return UnsafeAddress(f"refused: {exc.url} is a non-canonical form of {address}")
    return None


__all__ = [
    "GuardedResolver",
    "Policy",
    "UnsafeAddress",
    "check_url",
    "forbidden_reason",
    "guarded_connector",
    "parse_ip",
    "refusal_behind",
]
