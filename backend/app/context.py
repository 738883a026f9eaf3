"""What the app is built with, constructed once per process (Lambda's init phase), never per request."""

from __future__ import annotations

from dataclasses import dataclass

from app.config import Settings
from app.security.tokens import TokenService
from app.store.base import Quota, Store


@dataclass(frozen=True)
class Services:
    settings: Settings
    store: Store
    tokens: TokenService

    @property
    def quota(self) -> Quota:
        return Quota(max_bytes=self.settings.user_quota_bytes, max_files=self.settings.user_quota_files)
