"""What the app is built with (its settings, store, token service and password hasher), constructed
once per process by the factory (Lambda's init phase), never per request. The services take it as
their first argument; the API reaches it through `app.api.deps.app_context`."""

from __future__ import annotations

from dataclasses import dataclass

from app.config import Settings
from app.records import Quota
from app.security.passwords import Passwords
from app.security.tokens import TokenService
from app.store.base import Store


@dataclass(frozen=True)
class AppContext:
    settings: Settings
    store: Store
    tokens: TokenService
    passwords: Passwords

    @property
    def quota(self) -> Quota:
        return Quota(max_bytes=self.settings.user_quota_bytes, max_files=self.settings.user_quota_files)
