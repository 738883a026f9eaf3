"""Every expected outcome that crosses a layer, each defined once and none carrying an HTTP status.

The store and the security modules raise them, the services raise and pass them on, and two places
turn them into what a caller sees: the API's error table (`app/api/errors.py`, the only place a status
code is chosen) and the CLI's messages. Anything else that escapes is a bug, answered with a generic 500.
"""

from __future__ import annotations

# -- who is calling ------------------------------------------------------------------------------------


class NotAuthenticatedError(Exception):
    """No token, or one that is not a genuine, unrevoked token of an existing user at its version."""


class InvalidTokenError(Exception):
    """Any reason a token is not accepted. The message is for logs, never for the client."""


class InvalidCredentialsError(Exception):
    """Wrong username or password; which of the two is never told."""


class CurrentPasswordIncorrectError(Exception):
    """A password change whose `current_password` is not the account's password."""


class PermissionDeniedError(Exception):
    """The caller is known but may not do this: someone else's file, or a role they do not hold."""


# -- what is asked for ---------------------------------------------------------------------------------


class NotFoundError(Exception):
    """No such user, file or share (also: one deleted while the request was being served)."""


class UsernameTakenError(Exception):
    pass


class AlreadySharedError(Exception):
    pass


class SelfShareError(Exception):
    """Sharing a file with its own owner."""


class ConcurrentChangeError(Exception):
    """The record changed between the read this request was based on and its write: the write is
    refused rather than silently overwriting the other change; the caller may retry."""


class TooManyAttemptsError(Exception):
    """The caller has used up an attempt budget (naming unknown share recipients) for now."""


class InvalidCursorError(Exception):
    """A pagination cursor this service did not issue."""


# -- uploads -------------------------------------------------------------------------------------------


class UploadRejectedError(Exception):
    """Base of every refused upload; nothing of a refused upload is kept."""


class FileTooLargeError(UploadRejectedError):
    pass


class QuotaExceededError(UploadRejectedError):
    """The owner's byte or file-count quota would be exceeded."""


class UnsupportedContentTypeError(UploadRejectedError):
    """The declared type is not on the allowlist."""


class ContentMismatchError(UploadRejectedError):
    """The bytes are not what the declared type says (magic number, or text that is not UTF-8)."""


# -- dependencies --------------------------------------------------------------------------------------


class KeyUnavailableError(Exception):
    """The key store cannot be reached and no cached key may serve: refuse, never let through."""


class StoreUnavailableError(Exception):
    """The store could not be reached or asked us to back off: refuse, and let the client retry."""


class StoreStateError(Exception):
    """A programming error: a store operation out of order (deleting a user who still owns files)."""
