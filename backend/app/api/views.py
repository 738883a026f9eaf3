"""Store records to response models: the one place that decides which fields a client sees."""

from __future__ import annotations

from app.api.schemas import AdminUserOut, FileOut, FilePage, ShareOut
from app.store.base import FileRecord, Page, Share, User


def file_out(record: FileRecord) -> FileOut:
    return FileOut(
        id=record.id,
        name=record.name,
        size=record.size,
        content_type=record.content_type,
        sha256=record.sha256,
        created_at=record.created_at,
    )


def file_page(page: Page[FileRecord]) -> FilePage:
    return FilePage(items=[file_out(record) for record in page.items], next_cursor=page.next_cursor)


def share_out(share: Share) -> ShareOut:
    return ShareOut(file_id=share.file_id, username=share.username, created_at=share.created_at)


def admin_user_out(user: User) -> AdminUserOut:
    return AdminUserOut(id=user.id, username=user.username, role=user.role, created_at=user.created_at)
