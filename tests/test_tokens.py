from __future__ import annotations

import math
import re
import string
import zlib
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from django_convites import tokens
from django_convites.tokens import Kind, MalformedToken

GRAMMAR = re.compile(r"\A(cvi|cvp|cvr)_[0-9A-Za-z]{33}\Z")
kinds = st.sampled_from(list(Kind))


def test_crc32_is_the_standard_one():
    assert zlib.crc32(b"123456789") == 0xCBF43926


def test_random_part_carries_at_least_160_bits():
    assert tokens.RANDOM_LENGTH * math.log2(tokens.BASE) >= 160
    assert tokens.BASE**tokens.CHECK_LENGTH > 2**32


@pytest.mark.parametrize("kind", list(Kind))
def test_generated_token_has_the_documented_shape(kind):
    token = tokens.generate(kind)
    assert GRAMMAR.match(token)
    assert token.startswith(f"{kind.value}_")
    assert len(token) == tokens.TOKEN_LENGTH == 37


@given(kind=kinds)
def test_every_generated_token_parses_as_its_kind(kind):
    token = tokens.generate(kind)
    parsed = tokens.parse(token, kind)
    assert parsed.kind is kind
    assert parsed.secret == token


@given(kind=kinds, data=st.data())
@settings(max_examples=500)
def test_every_single_character_change_is_rejected(kind, data):
    token = tokens.generate(kind)
    position = data.draw(st.integers(min_value=0, max_value=len(token) - 1))
    replacement = data.draw(st.characters(codec="utf-8").filter(lambda char: char != token[position]))
    changed = token[:position] + replacement + token[position + 1 :]
    with pytest.raises(MalformedToken):
        tokens.parse(changed)


@pytest.mark.parametrize("kind", list(Kind))
def test_every_substitution_at_every_position_is_rejected(kind):
    token = tokens.generate(kind)
    for position in range(len(token)):
        for char in tokens.ALPHABET + "_-+/=":
            if char == token[position]:
                continue
            changed = token[:position] + char + token[position + 1 :]
            assert not tokens.is_well_formed(changed), (position, char)


@given(kind=kinds, other=kinds)
def test_a_token_of_another_kind_is_rejected_when_a_kind_is_expected(kind, other):
    token = tokens.generate(kind)
    assert tokens.is_well_formed(token, other) is (kind is other)


@given(st.text(max_size=80))
def test_arbitrary_text_is_rejected_without_error(text):
    assume_not_token = not GRAMMAR.match(text)
    if assume_not_token:
        assert not tokens.is_well_formed(text)


@pytest.mark.parametrize(
    "value",
    [
        None,
        123,
        b"cvp_" + b"a" * 33,
        "",
        "cvp_",
        "cvx_" + "a" * 33,
        "cvp-" + "a" * 33,
        "CVP_" + "a" * 33,
        "cvp_" + "a" * 32,
        "cvp_" + "a" * 34,
        "cvp_" + "á" * 33,
        "cvp_" + "１" * 33,  # full-width digits
        "cvp_" + "a" * 32 + "\n",
        "cvp_" + "a" * 10**6,
    ],
)
def test_malformed_values_are_rejected(value):
    with pytest.raises(MalformedToken):
        tokens.parse(value)


def test_error_message_never_repeats_the_input():
    token = tokens.generate(Kind.API_TOKEN)
    broken = token[:-1] + ("A" if token[-1] != "A" else "B")
    with pytest.raises(MalformedToken) as info:
        tokens.parse(broken)
    assert broken not in str(info.value)
    assert token[4:12] not in str(info.value)


def test_a_million_tokens_do_not_collide():
    seen = {tokens.generate(Kind.INVITE) for _ in range(1_000_000)}
    assert len(seen) == 1_000_000


def test_random_characters_are_spread_evenly():
    counts = Counter("".join(tokens.generate(Kind.API_TOKEN)[4:31] for _ in range(20_000)))
    assert set(counts) <= set(tokens.ALPHABET)
    expected = 20_000 * 27 / 62
    chi_square = sum((counts[char] - expected) ** 2 / expected for char in tokens.ALPHABET)
    # 61 degrees of freedom: p = 1e-6 lies near 126.
    assert chi_square < 126


def test_digest_is_sha256_hex_and_matches_in_constant_time(monkeypatch):
    token = tokens.generate(Kind.REFRESH)
    stored = tokens.digest(token)
    assert re.fullmatch(r"[0-9a-f]{64}", stored)
    assert token not in stored
    calls = []
    real = tokens.hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(tokens.hmac, "compare_digest", spy)
    assert tokens.matches(token, stored)
    assert not tokens.matches(tokens.generate(Kind.REFRESH), stored)
    assert len(calls) == 2


def test_display_prefix_reveals_few_random_characters():
    token = tokens.generate(Kind.API_TOKEN)
    prefix = tokens.display_prefix(token)
    assert token.startswith(prefix)
    assert len(prefix) - len("cvp_") <= 4
    assert tokens.parse(token).prefix == prefix


def test_the_package_uses_secrets_not_random():
    import inspect

    source = inspect.getsource(tokens)
    assert "import secrets" in source
    assert not re.search(r"^import random|^from random", source, re.MULTILINE)
    assert all(char in string.digits + string.ascii_letters for char in tokens.ALPHABET)


def test_a_parsed_token_never_shows_its_secret_in_repr():
    token = tokens.generate(Kind.INVITE)
    parsed = tokens.parse(token)
    assert token not in repr(parsed)
    assert token[4:] not in str(parsed)
