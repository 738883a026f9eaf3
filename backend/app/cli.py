"""Operator commands. Admin rights are granted here, never through the API."""

from __future__ import annotations

import argparse
import sys

from app.config import Settings
from app.factory import build_services
from app.services import accounts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.cli")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("make-admin", "grant the admin role to an existing user"),
        ("revoke-admin", "take the admin role away"),
        ("delete-user", "delete a user, their files and every share of them"),
    ):
        commands.add_parser(name, help=help_text).add_argument("username")
    args = parser.parse_args(argv)

    store = build_services(Settings()).store
    user = store.users.get_by_username(args.username)
    if user is None:
        print(f"no such user: {args.username}", file=sys.stderr)
        return 1
    if args.command == "make-admin":
        store.users.set_role(user.id, "admin")
    elif args.command == "revoke-admin":
        store.users.set_role(user.id, "user")
    else:
        accounts.delete_account(store, user=user)
    print(f"{args.command}: {args.username}: done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
