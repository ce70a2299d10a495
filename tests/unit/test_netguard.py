"""The SSRF guard's pure parts: which addresses are refused, how hosts are read, check_url."""

from __future__ import annotations

from ipaddress import IPv4Address, ip_address

import pytest

from bot.errors import FetchError
from bot.netguard import Policy, UnsafeAddress, check_url, forbidden_reason, parse_ip


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "a loopback address"),
        ("127.255.255.254", "a loopback address"),
        ("::1", "a loopback address"),
        ("10.1.2.3", "a private address"),
        ("172.16.0.1", "a private address"),
        ("172.31.255.255", "a private address"),
        ("192.168.0.1", "a private address"),
        ("fc00::1", "a private address"),
        ("fd12:3456::1", "a private address"),
        ("fec0::1", "a private address"),
        ("169.254.169.254", "a link-local address"),
        ("fe80::1", "a link-local address"),
        ("fe80::1%eth0", "a link-local address"),
        ("224.0.0.1", "a multicast address"),
        ("239.255.255.250", "a multicast address"),
        ("ff02::1", "a multicast address"),
        ("0.0.0.0", "an unspecified address"),
        ("0.1.2.3", "an unspecified address"),
        ("::", "an unspecified address"),
        ("100.64.0.1", "a carrier-grade NAT address"),
        ("100.127.255.255", "a carrier-grade NAT address"),
        ("240.0.0.1", "a reserved address"),
        ("255.255.255.255", "a broadcast address"),
        ("192.0.0.8", "a reserved address"),
        ("192.0.2.1", "a documentation address"),
        ("2001:db8::1", "a documentation address"),
        ("198.18.0.1", "a benchmarking address"),
        ("2001::1", "a reserved address"),
        ("100::1", "a reserved address"),
        ("::127.0.0.1", "a reserved address"),
        ("4000::1", "a reserved address"),
    ],
)
def test_forbidden_addresses_are_named_with_their_kind(address: str, reason: str) -> None:
    assert forbidden_reason(ip_address(address)) == reason


@pytest.mark.parametrize(
    ("address", "inner"),
    [
        ("::ffff:127.0.0.1", "127.0.0.1"),
        ("::ffff:10.0.0.1", "10.0.0.1"),
        ("::ffff:169.254.169.254", "169.254.169.254"),
        ("64:ff9b::7f00:1", "127.0.0.1"),
        ("2002:c0a8:0101::1", "192.168.1.1"),
    ],
)
def test_ipv6_forms_of_forbidden_ipv4_addresses_are_refused(address: str, inner: str) -> None:
    reason = forbidden_reason(ip_address(address))
    assert reason is not None and reason.endswith(f"({inner} in IPv6 form)")


@pytest.mark.parametrize(
    "address",
    [
        "8.8.8.8",
        "1.1.1.1",
        "211.234.10.5",
        "2606:4700::1111",
        "2001:4860:4860::8888",
        "::ffff:8.8.8.8",
    ],
)
def test_public_addresses_pass(address: str) -> None:
    assert forbidden_reason(ip_address(address)) is None


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("127.0.0.1.", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0X7F.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("127.0.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("0", "0.0.0.0"),
        ("10.0x10.1", "10.16.0.1"),
        ("::1", "::1"),
        ("[::1]", "::1"),
        ("::ffff:7f00:1", "::ffff:7f00:1"),
    ],
)
def test_literal_hosts_are_read_as_libc_reads_them(host: str, address: str) -> None:
    assert parse_ip(host) == ip_address(address)


@pytest.mark.parametrize(
    "host",
    [
        "example.com",
        "news.example",
        "1.2.3.4.5",
        "256.0.0.1",
        "1.2.65536",
        "0x",
        "08.0.0.1",
        "+1.2.3.4",
        "1_0.0.0.1",
        "127..1",
        "",
        "١٢٧.0.0.1",
    ],
)
def test_names_and_malformed_numbers_are_not_addresses(host: str) -> None:
    assert parse_ip(host) is None


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://127.0.0.1/", "refused: 127.0.0.1 is a loopback address"),
        ("http://[::1]/", "refused: ::1 is a loopback address"),
        ("http://2130706433/", "refused: 2130706433 (127.0.0.1) is a loopback address"),
        ("http://0x7f.1/", "refused: 0x7f.1 (127.0.0.1) is a loopback address"),
        ("http://localhost:8080/feed", "refused: localhost is a loopback address"),
        ("http://feeds.LOCALHOST./", "refused: feeds.localhost. is a loopback address"),
        ("https://10.0.0.5/rss", "refused: 10.0.0.5 is a private address"),
        (
            "http://169.254.169.254/latest/meta-data/",
            "refused: 169.254.169.254 is a link-local address",
        ),
        ("http://0.0.0.0:8080/", "refused: 0.0.0.0 is an unspecified address"),
        (
            "http://[::ffff:127.0.0.1]/",
            "refused: ::ffff:7f00:1 is a loopback address (127.0.0.1 in IPv6 form)",
        ),
        ("http://127。0。0。1/", "refused: 127.0.0.1 is a loopback address"),
    ],
)
def test_check_url_refuses_forbidden_literal_hosts(url: str, message: str) -> None:
    with pytest.raises(UnsafeAddress) as refused:
        check_url(url)
    assert str(refused.value) == message


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.com/feed",
        "gopher://example.com/",
        "javascript:alert(1)",
        "feed.xml",
    ],
)
def test_check_url_refuses_other_schemes(url: str) -> None:
    with pytest.raises(FetchError, match=r"^only http and https are allowed$"):
        check_url(url)


def test_check_url_refuses_a_url_without_a_host_or_unparseable() -> None:
    with pytest.raises(FetchError, match="has no host"):
        check_url("http:///feed")
    with pytest.raises(FetchError, match="not a valid URL"):
        check_url("http://[::1/feed")


@pytest.mark.parametrize(
    "url", ["https://newsdao.kr/feed.xml", "http://8.8.8.8/rss", "http://[2606:4700::1111]/"]
)
def test_check_url_passes_public_urls(url: str) -> None:
    check_url(url)


def test_allow_private_lets_literal_hosts_through_but_not_other_schemes() -> None:
    check_url("http://127.0.0.1:8080/feed", allow_private=True)
    with pytest.raises(FetchError):
        check_url("file:///etc/passwd", allow_private=True)


def test_an_exempt_address_passes_only_on_its_port() -> None:
    policy = Policy(exempt=frozenset({(IPv4Address("127.0.0.1"), 8080)}))
    assert policy.reason("127.0.0.1", 8080) is None
    assert policy.reason("127.0.0.1", 8081) == "a loopback address"
    assert policy.reason("not-an-address", 80) == "not an IP address"
