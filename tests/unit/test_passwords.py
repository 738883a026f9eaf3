from __future__ import annotations

import argon2

from app.security.passwords import Passwords
from tests.support.api import PASSWORD


def test_production_hasher_uses_argon2id_rfc9106_low_memory_profile() -> None:
    # The suite injects a cheap hasher for speed; what production builds by default must be the strong one.
    profile = argon2.profiles.RFC_9106_LOW_MEMORY
    parameters = argon2.extract_parameters(Passwords().hash(PASSWORD))
    assert parameters.type is argon2.Type.ID
    assert (parameters.time_cost, parameters.memory_cost, parameters.parallelism) == (
        profile.time_cost,
        profile.memory_cost,
        profile.parallelism,
    )
    assert (parameters.hash_len, parameters.salt_len) == (profile.hash_len, profile.salt_len)


def test_hash_verifies_only_the_right_password() -> None:
    passwords = Passwords()
    stored = passwords.hash(PASSWORD)
    assert stored.startswith("$argon2id$")
    assert passwords.verify(PASSWORD, stored)
    assert not passwords.verify("correct horse battery stapler", stored)
    assert not passwords.verify("anything", None)
    assert not passwords.verify("anything", "not-a-hash")
