"""Operator commands. Admin rights are granted here, never through the API."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import timedelta

from app.config import ConfigurationError, OperatorSettings, Settings, load_settings, report
from app.exceptions import NotFoundError, StoreStateError, StoreUnavailableError
from app.factory import build_context
from app.logs import configure_logging
from app.services import accounts, sweeper


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.cli")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("make-admin", "grant the admin role to an existing user"),
        ("revoke-admin", "take the admin role away"),
        ("delete-user", "delete a user, their files and every share of them"),
    ):
        commands.add_parser(name, help=help_text).add_argument("username")
    sweep = commands.add_parser("sweep", help="remove what crashed uploads and deletions left behind")
    sweep.add_argument(
        "--grace-seconds",
        type=_seconds,
        default=int(sweeper.DEFAULT_GRACE.total_seconds()),
        help="leave alone what is younger (default: %(default)s); 0 only while no server runs",
    )
    args = parser.parse_args(argv)

    try:
        settings = load_settings(OperatorSettings)
        configure_logging(settings.log_level)
        context = build_context(settings)
    except ConfigurationError as error:
        return report(error)
    try:
        if args.command == "sweep":
            swept = sweeper.sweep(context, grace=timedelta(seconds=args.grace_seconds))
            print(f"sweep: done ({swept} pending blobs removed)")
            return 0
        if args.command == "make-admin":
            accounts.set_role(context, username=args.username, role="admin")
        elif args.command == "revoke-admin":
            accounts.set_role(context, username=args.username, role="user")
        else:
            removed = accounts.delete_account(context, username=args.username)
            print(f"{args.command}: {args.username}: done ({removed} files removed)")
            return 0
    except NotFoundError:
        print(f"no such user: {args.username} in {_store_name(settings)}", file=sys.stderr)
        return 1
    except _unreachable(settings) as error:
        # No credentials, no such table, an endpoint that does not answer: one line, no traceback.
        reason = (
            str(error) if isinstance(error, StoreUnavailableError) else f"{type(error).__name__}: {error}"
        )
        print(f"{args.command}: cannot use {_store_name(settings)}: {reason}", file=sys.stderr)
        return 1
    except StoreStateError as error:
        print(f"{args.command}: {args.username}: not finished: {error}", file=sys.stderr)
        return 1
    print(f"{args.command}: {args.username}: done")
    return 0


def _seconds(value: str) -> int:
    seconds = int(value)
    if seconds < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return seconds


def _unreachable(settings: Settings) -> tuple[type[Exception], ...]:
    """What a store that cannot be used raises: the store's own error, and in AWS mode what boto3 raises
    before the store sees a request (no credentials) or what the store passes on (no such table)."""
    if settings.app_mode != "aws":
        return (StoreUnavailableError,)  # local mode imports nothing from boto3
    from botocore.exceptions import BotoCoreError, ClientError

    return (StoreUnavailableError, BotoCoreError, ClientError)


def _store_name(settings: Settings) -> str:
    """Where the CLI looked: a user missing there may well exist in the store the server uses."""
    if settings.app_mode == "aws":
        endpoint = os.environ.get("AWS_ENDPOINT_URL")
        where = f"at {endpoint}" if endpoint else f"in {settings.aws_region}"
        return f"DynamoDB table {settings.table_name} {where} (TABLE_NAME, AWS_ENDPOINT_URL)"
    return (
        f"the local store at {settings.data_dir.resolve()} "
        "(DATA_DIR, which must be the one the server was started with)"
    )


if __name__ == "__main__":
    sys.exit(main())
