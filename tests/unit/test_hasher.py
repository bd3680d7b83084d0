"""BcryptHasher: the password-hashing port on real bcrypt, at the low test cost."""

from __future__ import annotations

import os
import threading

import bcrypt
import pytest

from coatcheck.adapters.bcrypt_hasher import NICENESS, BcryptHasher
from coatcheck.domain.model import Password

PASSWORD = Password("correct horse battery staple")


async def test_hash_is_bcrypt_at_the_configured_cost(hasher: BcryptHasher) -> None:
    password_hash = await hasher.hash(PASSWORD)
    assert password_hash.startswith("$2b$04$")
    assert len(password_hash) == 60
    assert PASSWORD.value not in password_hash


async def test_the_same_password_hashes_differently_each_time(hasher: BcryptHasher) -> None:
    assert await hasher.hash(PASSWORD) != await hasher.hash(PASSWORD)


async def test_verify_accepts_the_password_and_refuses_any_other(hasher: BcryptHasher) -> None:
    password_hash = await hasher.hash(PASSWORD)
    assert await hasher.verify(PASSWORD, password_hash)
    assert not await hasher.verify(Password(PASSWORD.value + " "), password_hash)
    assert not await hasher.verify(Password(PASSWORD.value.upper()), password_hash)


async def test_verify_tells_apart_passwords_differing_only_in_the_72nd_byte(
    hasher: BcryptHasher,
) -> None:
    password_hash = await hasher.hash(Password("a" * 71 + "b"))
    assert await hasher.verify(Password("a" * 71 + "b"), password_hash)
    assert not await hasher.verify(Password("a" * 71 + "c"), password_hash)


async def test_verify_handles_multibyte_passwords(hasher: BcryptHasher) -> None:
    password = Password("€" * 24)
    password_hash = await hasher.hash(password)
    assert await hasher.verify(password, password_hash)
    assert not await hasher.verify(Password("€" * 23), password_hash)


@pytest.mark.parametrize("junk", ["", "not a hash", "$2b$04$short", "x" * 60])
async def test_verify_against_something_that_is_not_a_bcrypt_hash_is_false(
    hasher: BcryptHasher, junk: str
) -> None:
    assert not await hasher.verify(PASSWORD, junk)


async def test_verify_dummy_completes_for_any_password(hasher: BcryptHasher) -> None:
    assert await hasher.verify_dummy(PASSWORD) is None
    assert await hasher.verify_dummy(Password("dummy password")) is None
    assert await hasher.verify_dummy(Password("€" * 24)) is None


async def test_hashing_runs_in_the_bcrypt_pool_not_on_the_event_loop(
    hasher: BcryptHasher, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[str] = []
    real_hashpw = bcrypt.hashpw

    def recording_hashpw(password: bytes, salt: bytes) -> bytes:
        threads.append(threading.current_thread().name)
        return real_hashpw(password, salt)

    monkeypatch.setattr(bcrypt, "hashpw", recording_hashpw)
    await hasher.hash(PASSWORD)
    assert len(threads) == 1
    assert threads[0].startswith("bcrypt")
    assert threads[0] != threading.current_thread().name


def test_a_hash_at_the_configured_cost_needs_no_rehash(hasher: BcryptHasher) -> None:
    assert not hasher.needs_rehash("$2b$04$" + "x" * 53)


@pytest.mark.parametrize(
    "password_hash", ["$2b$05$" + "x" * 53, "$2b$12$" + "x" * 53, "$2b$10$" + "x" * 53]
)
def test_a_hash_at_another_cost_needs_a_rehash(hasher: BcryptHasher, password_hash: str) -> None:
    assert hasher.needs_rehash(password_hash)


@pytest.mark.parametrize("password_hash", ["", "plain", "$2b$"])
def test_something_that_is_not_a_bcrypt_hash_needs_a_rehash(
    hasher: BcryptHasher, password_hash: str
) -> None:
    assert hasher.needs_rehash(password_hash)


async def test_a_cost_12_hasher_reads_its_own_hashes_as_current() -> None:
    hasher = BcryptHasher(rounds=12)
    try:
        assert not hasher.needs_rehash("$2b$12$" + "x" * 53)
        assert hasher.needs_rehash("$2b$04$" + "x" * 53)
    finally:
        hasher.close()


async def test_hashing_threads_run_at_a_lower_priority_than_the_event_loop(
    hasher: BcryptHasher,
) -> None:
    await hasher.hash(PASSWORD)  # the pool has started a thread
    pool = [thread for thread in threading.enumerate() if thread.name.startswith("bcrypt")]
    loop_niceness = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    assert pool
    for thread in pool:
        assert thread.native_id is not None
        assert os.getpriority(os.PRIO_PROCESS, thread.native_id) == loop_niceness + NICENESS
