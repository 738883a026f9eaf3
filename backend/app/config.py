"""Runtime settings, read once from the environment (see .env.example for every variable).

Plain pydantic models that fill the fields a caller does not pass from environment variables of the same
name (any case), as pydantic-settings would: every value here is a string or a comma-separated list,
so its sources, dotenv and JSON decoding, cost the Lambda cold start an import for nothing.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

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


LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
# What an entry point exits with on a configuration mistake (2, as for a command-line usage error).
CONFIGURATION_EXIT_CODE = 2


class ConfigurationError(Exception):
    """A setting the app cannot start with. The message says which variable is wrong and how to fix it,
    in one line, and never quotes a value: values include secrets."""


class EnvironmentSettings(BaseModel):
    """A field's value is the keyword argument if given, else the environment variable named like it."""

    # hide_input_in_errors: a refused configuration is printed at start-up (on Lambda, to CloudWatch),
    # and pydantic would otherwise quote the input, JWT_SECRET included.
    model_config = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    @model_validator(mode="before")
    @classmethod
    def _from_environment(cls, values: Any) -> Any:
        if not isinstance(values, dict):
            return values
        environment = {name.lower(): value for name, value in os.environ.items()}
        found = {field: environment[field] for field in cls.model_fields if field in environment}
        return {**found, **values}


class Settings(EnvironmentSettings):
    app_mode: Literal["local", "aws"] = "local"
    # Secure by default: a deployment that forgets to set ENVIRONMENT serves no /docs or schema.
    environment: Literal["development", "test", "production"] = "production"
    log_level: LogLevel = "INFO"

    # Local mode (embedded default).
    data_dir: Path = Path(".data")
    jwt_secret: SecretStr | None = None

    # AWS mode. JWT_SECRET_ARN is required where tokens are signed: by the API, not the operator CLI.
    signs_tokens: ClassVar[bool] = True
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
    allowed_content_types: tuple[str, ...] = DEFAULT_CONTENT_TYPES

    # Empty means no CORS middleware at all: a browser on another origin gets nothing.
    cors_allow_origins: tuple[str, ...] = ()

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
        if self.app_mode == "aws" and not self.jwt_secret_arn and self.signs_tokens:
            raise ValueError(
                "APP_MODE=aws requires JWT_SECRET_ARN. "
                "Set it to the ARN of the Secrets Manager secret that holds the signing key."
            )
        if self.app_mode == "aws" and self.jwt_secret is not None:
            # A key in the environment would bypass Secrets Manager and its rotation.
            raise ValueError(
                "JWT_SECRET is for local mode only. "
                "Unset it: AWS mode reads the signing key from the secret JWT_SECRET_ARN names."
            )
        return self

    @property
    def docs_enabled(self) -> bool:
        return self.environment != "production"


class OperatorSettings(Settings):
    """What the operator CLI reads. Its commands change users in the store and sign or verify no token,
    so AWS mode needs no JWT_SECRET_ARN here; everything else is checked as for the server."""

    signs_tokens: ClassVar[bool] = False


class LoggingSettings(EnvironmentSettings):
    """All the rotation Lambda reads: it needs no other setting."""

    log_level: LogLevel = "INFO"


AnySettings = TypeVar("AnySettings", bound=EnvironmentSettings)


def load_settings(model: type[AnySettings]) -> AnySettings:
    """The settings from the environment, or a ConfigurationError naming every variable that is wrong."""
    try:
        return model()
    except ValidationError as error:
        # from None: the validation error's own text is the multi-line dump this replaces.
        raise ConfigurationError(_explain(error.errors())) from None


def _explain(details: list[ErrorDetails]) -> str:
    """One line for every refused value. pydantic's messages say what was expected, never what was
    given (and hide_input_in_errors keeps the input out of the error itself)."""
    checks, problems, variables = [], [], []
    for detail in details:
        message = detail["msg"].removeprefix("Value error, ").rstrip(".")
        if not detail["loc"]:
            checks.append(f"{message}.")  # a check across settings: it names the variables and the fix
            continue
        variable = str(detail["loc"][0]).upper()
        for subject in ("Input ", "String "):
            if message.startswith(subject):
                message = f"{variable} {message.removeprefix(subject)}"
        problems.append(message if variable in message else f"{variable}: {message}")
        variables.append(variable)
    if problems:
        value = "a valid value" if len(variables) == 1 else "valid values"
        checks.append(
            f"{'; '.join(problems)}. Set {', '.join(variables)} to {value} "
            "(.env.example describes every setting)."
        )
    return " ".join(checks)


def report(error: ConfigurationError) -> int:
    """The one line a person at a terminal gets, on stderr; returns the exit code to end with."""
    print(f"configuration error: {error}", file=sys.stderr)
    return CONFIGURATION_EXIT_CODE
