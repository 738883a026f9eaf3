"""Runtime settings, read once from the environment (see .env.example for every variable)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

MIB = 1024 * 1024

# Types a browser cannot be tricked into rendering as active content; HTML and SVG are deliberately absent.
DEFAULT_CONTENT_TYPES = (
    "application/octet-stream",
    "application/pdf",
    "application/json",
    "application/zip",
    "image/gif",
    "image/jpeg",
    "image/png",
    "image/webp",
    "text/csv",
    "text/plain",
)


class Settings(BaseSettings):
    # hide_input_in_errors: a refused configuration is printed at start-up (on Lambda, to CloudWatch),
    # and pydantic would otherwise quote the input, JWT_SECRET included.
    model_config = SettingsConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    app_mode: Literal["local", "aws"] = "local"
    # Secure by default: a deployment that forgets to set ENVIRONMENT serves no /docs or schema.
    environment: Literal["development", "test", "production"] = "production"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    # Local mode (embedded default).
    data_dir: Path = Path(".data")
    jwt_secret: SecretStr | None = None

    # AWS mode.
    jwt_secret_arn: str | None = None
    table_name: str = "fastapi-lambda"
    bucket_name: str = "fastapi-lambda-files"
    aws_region: str = "us-east-1"
    secret_cache_ttl_seconds: int = Field(default=300, ge=1, le=3600)

    # Tokens.
    jwt_issuer: str = Field(default="fastapi-lambda", min_length=1)
    jwt_audience: str = Field(default="fastapi-lambda-api", min_length=1)
    access_token_ttl_seconds: int = Field(default=900, ge=60, le=24 * 3600)

    # Uploads and quotas.
    max_upload_bytes: int = Field(default=5 * MIB, ge=1, le=6 * 1000 * 1000)
    user_quota_bytes: int = Field(default=100 * MIB, ge=1)
    user_quota_files: int = Field(default=1000, ge=1)
    allowed_content_types: Annotated[tuple[str, ...], NoDecode] = DEFAULT_CONTENT_TYPES

    # Empty means no CORS middleware at all: a browser on another origin gets nothing.
    cors_allow_origins: Annotated[tuple[str, ...], NoDecode] = ()

    @field_validator("allowed_content_types", "cors_allow_origins", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(item.strip() for item in value.split(",") if item.strip())
        return value

    @field_validator("allowed_content_types")
    @classmethod
    def _no_active_content(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        lowered = tuple(item.lower() for item in value)
        active = {"text/html", "image/svg+xml", "application/xhtml+xml", "text/javascript"}
        if active & set(lowered):
            raise ValueError("HTML, SVG and scripts cannot be allowlisted for download")
        return lowered

    @field_validator("cors_allow_origins")
    @classmethod
    def _explicit_origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if "*" in value:
            raise ValueError("CORS_ALLOW_ORIGINS must list origins explicitly, not '*'")
        return value

    @model_validator(mode="after")
    def _mode_requirements(self) -> Settings:
        if self.app_mode == "aws" and not self.jwt_secret_arn:
            raise ValueError("APP_MODE=aws requires JWT_SECRET_ARN")
        if self.app_mode == "aws" and self.jwt_secret is not None:
            # A key in the environment would bypass Secrets Manager and its rotation.
            raise ValueError("JWT_SECRET is for local mode only; AWS mode reads JWT_SECRET_ARN")
        return self

    @property
    def docs_enabled(self) -> bool:
        return self.environment != "production"
