from __future__ import annotations

import pytest
from django.http import HttpRequest
from django.test import RequestFactory, override_settings

from django_convites import net


def request(remote="203.0.113.9", forwarded=None, agent=None):
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    if agent is not None:
        meta["HTTP_USER_AGENT"] = agent
    return RequestFactory().get("/", **meta)


def test_remote_addr_by_default_and_the_header_is_ignored():
    assert net.client_ip(request("203.0.113.9", "6.6.6.6")) == "203.0.113.9"


@pytest.mark.parametrize(
    ("proxies", "remote", "forwarded", "expected"),
    [
        # One proxy: the hop it appended is the client; anything left of it is the client's own claim.
        (1, "10.0.0.1", "198.51.100.7", "198.51.100.7"),
        (1, "10.0.0.1", "6.6.6.6, 198.51.100.7", "198.51.100.7"),
        (1, "10.0.0.1", "6.6.6.6,198.51.100.7", "198.51.100.7"),
        # Two proxies: the second hop from the right.
        (2, "10.0.0.2", "6.6.6.6, 198.51.100.7, 10.0.0.1", "198.51.100.7"),
        # Fewer hops than proxies: the leftmost hop (every hop was appended by a proxy).
        (2, "10.0.0.2", "198.51.100.7", "198.51.100.7"),
        # No header at all: REMOTE_ADDR.
        (1, "10.0.0.1", None, "10.0.0.1"),
        (1, "10.0.0.1", "", "10.0.0.1"),
        # A proxy passed on garbage: the last good hop.
        (1, "10.0.0.1", "not-an-ip", "10.0.0.1"),
        (2, "10.0.0.2", "198.51.100.7, garbage", "10.0.0.2"),
        # Ports and brackets are stripped; IPv4-mapped IPv6 is IPv4.
        (1, "10.0.0.1", "198.51.100.7:4444", "198.51.100.7"),
        (1, "10.0.0.1", "[2001:db8::5]:443", "2001:db8::5"),
        (1, "10.0.0.1", "2001:db8::5", "2001:db8::5"),
        (1, "10.0.0.1", "::ffff:198.51.100.7", "198.51.100.7"),
    ],
)
def test_trusted_proxy_count(convites_settings, proxies, remote, forwarded, expected):
    convites_settings(TRUSTED_PROXIES=proxies)
    assert net.client_ip(request(remote, forwarded)) == expected


@pytest.mark.parametrize(
    ("remote", "forwarded", "expected"),
    [
        # REMOTE_ADDR is not a trusted proxy: the header is a client's claim and loses.
        ("203.0.113.9", "6.6.6.6", "203.0.113.9"),
        # Trusted proxy in front: the first untrusted hop from the right.
        ("10.0.0.1", "198.51.100.7", "198.51.100.7"),
        ("10.0.0.1", "6.6.6.6, 198.51.100.7, 10.0.0.3", "198.51.100.7"),
        ("10.0.0.1", "6.6.6.6, 198.51.100.7, 10.9.9.9, 172.16.0.4", "198.51.100.7"),
        # Every hop trusted: the leftmost.
        ("10.0.0.1", "10.0.0.7", "10.0.0.7"),
        ("2001:db8:1::1", "198.51.100.7", "198.51.100.7"),
    ],
)
def test_trusted_proxy_networks(convites_settings, remote, forwarded, expected):
    convites_settings(TRUSTED_PROXIES=["10.0.0.0/8", "172.16.0.0/12", "2001:db8:1::/48"])
    assert net.client_ip(request(remote, forwarded)) == expected


def test_a_client_cannot_choose_its_ip_by_adding_hops(convites_settings):
    convites_settings(TRUSTED_PROXIES=1)
    for claim in ["1.1.1.1", "1.1.1.1, 2.2.2.2", "127.0.0.1, " * 40 + "127.0.0.1"]:
        assert net.client_ip(request("10.0.0.1", f"{claim}, 198.51.100.7")) == "198.51.100.7"


def test_invalid_remote_addr_is_none():
    assert net.client_ip(request("")) is None
    assert net.client_ip(request("garbage")) is None


def test_user_agent_is_cut_and_cleaned():
    assert net.user_agent(request(agent="curl/8.5.0")) == "curl/8.5.0"
    assert net.user_agent(request()) == ""
    long = net.user_agent(request(agent="A" * 10_000))
    assert len(long) == net.USER_AGENT_MAX_LENGTH
    assert net.user_agent(request(agent="evil\x00\x1b[31m")) == "evil[31m"


def test_request_meta_is_cached_on_the_request():
    req = request("198.51.100.7", agent="x")
    meta = net.request_meta(req)
    assert meta == net.RequestMeta(ip="198.51.100.7", user_agent="x", host="testserver")
    assert net.request_meta(req) is meta


def test_request_meta_holds_the_host_name_without_its_port():
    assert net.host_name(RequestFactory().get("/", HTTP_HOST="Contas.Example.com:8443")) == "contas.example.com"
    assert net.host_name(RequestFactory().get("/", HTTP_HOST="[::1]:8000")) == "[::1]"
    assert net.request_meta(RequestFactory().get("/", HTTP_HOST="www.example.com")).host == "www.example.com"


@override_settings(ALLOWED_HOSTS=["www.example.com"])
def test_a_host_not_allowed_is_no_host_and_no_error():
    assert net.host_name(RequestFactory().get("/", HTTP_HOST="evil.example.net")) == ""
    assert net.host_name(HttpRequest()) == ""  # built by hand: neither Host nor SERVER_NAME
