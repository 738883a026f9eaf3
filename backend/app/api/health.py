from __future__ import annotations

from fastapi import APIRouter

from app.api.schemas import HealthOut

router = APIRouter(tags=["health"])


@router.get("/health")
async def health() -> HealthOut:
    return HealthOut()
