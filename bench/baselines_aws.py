"""The AWS-mode floor: the hello app plus one boto3 client and PyJWT, which any app of this kind needs."""

from __future__ import annotations

import boto3
import jwt

from bench.baselines import app, handler

secrets_client = boto3.client("secretsmanager")

__all__ = ["app", "handler", "jwt", "secrets_client"]
