from __future__ import annotations

import argon2

from app.security import passwords


def test_production_hasher_uses_argon2id_rfc9106_low_memory_profile() -> None:
    # The suite swaps in a cheap hasher for speed; the module's default must stay the strong one.
    profile = argon2.profiles.RFC_9106_LOW_MEMORY
    fresh = argon2.PasswordHasher()
    assert (fresh.time_cost, fresh.memory_cost, fresh.parallelism) == (
        profile.time_cost,
        profile.memory_cost,
        profile.parallelism,
    )
    source = passwords.__file__
    with open(source, encoding="utf-8") as handle:
        assert "_hasher = PasswordHasher()\n" in handle.read()


def test_hash_verifies_only_the_right_password() -> None:
    stored = passwords.hash_password("correct horse battery staple")
    assert stored.startswith("$argon2id$")
    assert passwords.verify_password("correct horse battery staple", stored)
    assert not passwords.verify_password("correct horse battery stapler", stored)
    assert not passwords.verify_password("anything", None)
    assert not passwords.verify_password("anything", "not-a-hash")
