"""The pure rules of partner webhooks: the signature, filter matching, the retry policy and
the callback address guard (order per shipment is the outbox's query: integration tests)."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from datetime import UTC, datetime, timedelta

import pytest

from services.webhooks.domain import (
    Filter,
    RetryPolicy,
    StateFacts,
    matches,
    secrets_in_force,
    sign,
    signature_header,
    verify,
)
from services.webhooks.guard import (
    AddressPolicy,
    CallbackRefused,
    address_refusal,
    check_callback,
    pinned,
    url_refusal,
)

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
PRODUCTION = AddressPolicy.of(False, [], True)
LOCAL = AddressPolicy.of(True, [], False)


def test_signature_is_the_hex_hmac_sha256_of_the_raw_body() -> None:
    # RFC 4231, test case 2.
    expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    assert sign("Jefe", b"what do ya want for nothing?") == f"sha256={expected}"
    body = b'{"id":"d-1"}'
    digest = hmac.new(b"s3cret-s3cret-s3cret", body, hashlib.sha256).hexdigest()
    assert sign("s3cret-s3cret-s3cret", body) == "sha256=" + digest


def test_a_rotation_signs_with_both_secrets_until_the_overlap_ends() -> None:
    body = b"{}"
    until = NOW + timedelta(hours=1)
    both = secrets_in_force("new-secret", "old-secret", until, NOW)
    assert both == ["new-secret", "old-secret"]
    header = signature_header(both, body)
    assert header == f"{sign('new-secret', body)}, {sign('old-secret', body)}"
    assert verify("old-secret", body, header)
    assert verify("new-secret", body, header)
    assert not verify("other-secret", body, header)
    assert not verify("new-secret", b"{ }", header)  # any change of the bytes
    assert secrets_in_force("new-secret", "old-secret", until, until) == ["new-secret"]
    assert secrets_in_force("new-secret", None, None, NOW) == ["new-secret"]


STATE = StateFacts("SHP-1", "IN_TRANSIT", "DEPARTED", frozenset({"KZAKL"}))


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ({}, True),
        ({"shipment_ids": ["SHP-1", "SHP-2"]}, True),
        ({"shipment_ids": ["SHP-2"]}, False),
        ({"event_types": ["DEPARTED"]}, True),
        ({"event_types": ["ARRIVED"]}, False),
        ({"locations": ["KZAKL"]}, True),
        ({"locations": ["GEPTI"]}, False),
        ({"states": ["IN_TRANSIT", "DELIVERED"]}, True),
        ({"states": ["DELIVERED"]}, False),
        ({"shipment_ids": ["SHP-1"], "states": ["DELIVERED"]}, False),  # every field holds
        ({"shipment_ids": ["SHP-1"], "event_types": ["DEPARTED"], "locations": ["KZAKL"]}, True),
    ],
)
def test_a_filter_takes_a_state_when_every_given_field_holds(
    doc: dict[str, list[str]], expected: bool
) -> None:
    assert matches(Filter.from_doc(doc), STATE) is expected


def test_a_filter_is_stored_with_only_the_fields_given_sorted() -> None:
    f = Filter.from_doc({"states": ["HELD", "BOOKED"], "locations": None})
    assert f.doc() == {"states": ["BOOKED", "HELD"]}
    assert Filter.from_doc(f.doc()) == f


def test_retries_back_off_with_jitter_within_bounds_and_give_up_after_the_last_attempt() -> None:
    policy = RetryPolicy(max_attempts=4, base_seconds=1.0, cap_seconds=3.0)
    delays = []
    for attempts in (1, 2, 3):
        at = policy.after_failure(attempts, NOW)
        assert at is not None
        delays.append((at - NOW).total_seconds())
    assert 0.5 <= delays[0] <= 1.0
    assert 1.0 <= delays[1] <= 2.0
    assert 1.5 <= delays[2] <= 3.0  # capped
    assert policy.after_failure(4, NOW) is None


@pytest.mark.parametrize(
    "address",
    [
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.10",
        "169.254.169.254",  # cloud metadata
        "fe80::1",
        "fc00::1",
        "100.64.0.1",  # shared address space
        "0.0.0.0",
        "224.0.0.1",
        "::ffff:10.0.0.1",
    ],
)
def test_non_global_addresses_are_refused(address: str) -> None:
    ip = ipaddress.ip_address(address)
    assert address_refusal(ip, PRODUCTION) is not None
    assert address_refusal(ip, LOCAL) is not None  # the local run allows loopback only


@pytest.mark.parametrize("address", ["127.0.0.1", "127.8.9.1", "::1", "::ffff:127.0.0.1"])
def test_loopback_is_refused_unless_configuration_allows_it(address: str) -> None:
    ip = ipaddress.ip_address(address)
    assert "loopback" in (address_refusal(ip, PRODUCTION) or "")
    assert address_refusal(ip, LOCAL) is None


def test_global_addresses_and_configured_networks_are_allowed() -> None:
    for address in ("8.8.8.8", "2001:4860:4860::8888", "185.12.64.1"):
        assert address_refusal(ipaddress.ip_address(address), PRODUCTION) is None
    partner_link = AddressPolicy.of(False, ["10.20.0.0/16"], True)
    assert address_refusal(ipaddress.ip_address("10.20.1.1"), partner_link) is None
    assert address_refusal(ipaddress.ip_address("10.21.1.1"), partner_link) is not None


def test_url_forms_refused() -> None:
    assert url_refusal("https://partner.example/hook", PRODUCTION) == ("partner.example", 443)
    assert url_refusal("http://127.0.0.1:9000/hook", LOCAL) == ("127.0.0.1", 9000)
    assert "scheme" in str(url_refusal("http://partner.example/hook", PRODUCTION))
    assert "scheme" in str(url_refusal("ftp://partner.example/", LOCAL))
    assert "credentials" in str(url_refusal("https://u:p@partner.example/", PRODUCTION))
    assert "host" in str(url_refusal("https:///hook", PRODUCTION))


async def test_a_host_is_resolved_and_every_address_checked() -> None:
    with pytest.raises(CallbackRefused, match=r"localhost resolves to .*loopback"):
        await check_callback("https://localhost/hook", PRODUCTION)
    assert ipaddress.ip_address("127.0.0.1") in await check_callback(
        "http://localhost:9/hook", LOCAL
    )
    with pytest.raises(CallbackRefused, match="link-local"):
        await check_callback("http://169.254.169.254/latest/meta-data", LOCAL)
    with pytest.raises(CallbackRefused, match="does not resolve"):
        await check_callback("https://no-such-host.invalid/hook", PRODUCTION)


def test_a_delivery_goes_to_the_address_that_was_checked() -> None:
    v4, v6 = ipaddress.ip_address("203.0.113.7"), ipaddress.ip_address("2001:db8::7")
    assert pinned("https://hooks.partner.example/corridor?x=1", v4) == (
        "https://203.0.113.7/corridor?x=1",
        "hooks.partner.example",
        {"sni_hostname": "hooks.partner.example"},  # the certificate is checked for the name
    )
    assert pinned("http://hooks.partner.example:8080/h", v6) == (
        "http://[2001:db8::7]:8080/h",
        "hooks.partner.example:8080",
        {},
    )
