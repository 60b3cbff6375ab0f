"""Naming rules and JWTs, property-based where it pays."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cluster.common.errors import ArangoError
from cluster.server import auth, keys, users

KEY_ALPHABET = string.ascii_letters + string.digits + "_-:.@()+,=;$!*'%"


@given(st.text(KEY_ALPHABET, min_size=1, max_size=254))
def test_every_key_of_allowed_characters_is_valid(key: str) -> None:
    assert keys.check_key(key) == key


@given(st.text(min_size=1, max_size=300))
def test_keys_with_other_characters_or_too_long_are_rejected(key: str) -> None:
    valid = len(key) <= 254 and all(ch in KEY_ALPHABET for ch in key)
    assert keys.is_valid_key(key) == valid
    if not valid:
        with pytest.raises(ArangoError) as err:
            keys.check_key(key)
        assert (err.value.code, err.value.error_num) == (400, 1221)


@pytest.mark.parametrize("bad", ["", "a" * 255, "a/b", "a b", "ä", None, 5, "a\n"])
def test_bad_keys(bad: object) -> None:
    assert not keys.is_valid_key(bad)


def test_collection_and_database_names() -> None:
    assert keys.is_valid_collection_name("orders_2-x")
    assert keys.is_valid_collection_name("_system_coll")
    assert not keys.is_valid_collection_name("2orders")
    assert not keys.is_valid_collection_name("a" * 257)
    assert keys.is_valid_database_name("_system")
    assert keys.is_valid_database_name("shop-1_a")
    assert not keys.is_valid_database_name("_other")
    assert not keys.is_valid_database_name("a" * 65)
    with pytest.raises(ArangoError) as err:
        keys.check_database_name("1x")
    assert err.value.error_num == 1229
    assert keys.split_document_id("c/k") == ("c", "k")
    assert keys.split_document_id("c") is None


def test_user_keys_are_valid_and_distinct() -> None:
    names = ["root", "ann", "h_x", "a b", "ü" * 10, "x/y"]
    made = [users.user_key(n) for n in names]
    assert all(keys.is_valid_key(k) for k in made)
    assert len(set(made)) == len(made)


def test_jwt_round_trip_and_tampering() -> None:
    token = auth.sign_jwt({"preferred_username": "ann", "exp": 4_000_000_000}, "s3cret")
    assert auth.verify_jwt(token, "s3cret") == {"preferred_username": "ann", "exp": 4_000_000_000}
    assert auth.verify_jwt(token, "other") is None
    header, payload, sig = token.split(".")
    forged_payload = auth.sign_jwt({"preferred_username": "root", "exp": 4_000_000_000}, "x")
    assert auth.verify_jwt(f"{header}.{forged_payload.split('.')[1]}.{sig}", "s3cret") is None
    expired = auth.sign_jwt({"preferred_username": "ann", "exp": 1}, "s3cret")
    assert auth.verify_jwt(expired, "s3cret") is None
    # issue 10 row 10: a token without exp (a member's, signed with the secret) never
    # expired; every token must now carry a numeric one
    for claims in ({"server_id": "s1"}, {"server_id": "s1", "exp": "4000000000"}):
        assert auth.verify_jwt(auth.sign_jwt(claims, "s3cret"), "s3cret") is None
    for junk in ["", "a.b", "a.b.c", "....", "!!.!!.!!"]:
        assert auth.verify_jwt(junk, "s3cret") is None


def test_password_hashes_are_salted() -> None:
    one, two = users.hash_password("pw"), users.hash_password("pw")
    assert one != two
    assert users.password_matches(one, "pw") and not users.password_matches(one, "pW")
    assert not users.password_matches({"simple": None}, "pw")


def test_db_prefix_is_stripped_for_auth_decisions() -> None:
    assert auth.strip_db_prefix("/_db/x/_api/wal/tail") == "/_api/wal/tail"
    assert auth.strip_db_prefix("/_api/version") == "/_api/version"
    assert auth.strip_db_prefix("/_db/x") == "/"
