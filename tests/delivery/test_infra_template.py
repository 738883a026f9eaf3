"""infra/template.yaml: its shape against the app's contract (table keys, environment, roles), and
cfn-lint and checkov over it."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.config import Settings
from tests.support.tools import checkov, tool

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = REPO_ROOT / "infra" / "template.yaml"
DIGEST = "sha256:" + "ab" * 32
REPO_URI = "123456789012.dkr.ecr.us-east-1.amazonaws.com/fastapi-lambda"


class _CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation's short-form tags (!Ref, !Sub, ...) into their long form."""


def _cfn_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = suffix if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _cfn_tag)


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    document: dict[str, Any] = yaml.load(TEMPLATE.read_text(), Loader=_CfnLoader)  # noqa: S506
    return document


def _resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def _statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for policy in role["Properties"]["Policies"] for s in policy["PolicyDocument"]["Statement"]]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# ---------------------------------------------------------------------------------------- template


def test_table_matches_the_store_contract(template: dict[str, Any]) -> None:
    (table,) = _resources(template, "AWS::DynamoDB::Table").values()
    props = table["Properties"]
    assert props["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    (gsi,) = props["GlobalSecondaryIndexes"]
    assert gsi["IndexName"] == "gsi1"
    assert [k["AttributeName"] for k in gsi["KeySchema"]] == ["gsi1pk", "gsi1sk"]
    assert gsi["Projection"] == {"ProjectionType": "ALL"}
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert props["DeletionProtectionEnabled"] is True
    assert table["DeletionPolicy"] == "Retain"


@pytest.mark.threat("T-18")
def test_function_environment_is_settings_the_app_reads(template: dict[str, Any]) -> None:
    api = template["Resources"]["ApiFunction"]["Properties"]
    env = api["Environment"]["Variables"]
    assert set(env) <= {name.upper() for name in Settings.model_fields}
    assert env["APP_MODE"] == "aws"
    assert env["ENVIRONMENT"] == "production"
    assert env["JWT_SECRET_ARN"] == {"Ref": "JwtSecret"}
    assert {"TABLE_NAME", "BUCKET_NAME", "JWT_ISSUER", "JWT_AUDIENCE"} <= env.keys()
    # The key comes from Secrets Manager only, never from the environment (T-05).
    assert "JWT_SECRET" not in env
    assert api["PackageType"] == "Image"
    assert api["Code"] == {"ImageUri": {"Ref": "ImageUri"}}
    assert api["LoggingConfig"]["LogFormat"] == "JSON"
    assert "ReservedConcurrentExecutions" in api
    rotation = template["Resources"]["RotationFunction"]["Properties"]
    assert rotation["Code"] == api["Code"]
    assert rotation["ImageConfig"] == {"Command": ["app.rotation.handler"]}


def test_first_deploy_creates_no_function_without_an_image(template: dict[str, Any]) -> None:
    assert template["Parameters"]["ImageUri"]["Default"] == ""
    assert re.fullmatch(template["Parameters"]["ImageUri"]["AllowedPattern"], f"{REPO_URI}@{DIGEST}")
    assert not re.fullmatch(template["Parameters"]["ImageUri"]["AllowedPattern"], f"{REPO_URI}:latest")
    needs_image = {n for n, r in template["Resources"].items() if r.get("Condition") == "HasImage"}
    assert needs_image == {
        "ApiFunction",
        "ApiFunctionUrl",
        "ApiUrlPermission",
        "ApiUrlInvokePermission",
        "RotationFunction",
        "RotationInvokePermission",
        "JwtSecretRotation",
    }


def test_registry_scans_on_push_and_never_retags(template: dict[str, Any]) -> None:
    (repo,) = _resources(template, "AWS::ECR::Repository").values()
    props = repo["Properties"]
    assert props["ImageTagMutability"] == "IMMUTABLE"
    assert props["ImageScanningConfiguration"] == {"ScanOnPush": True}
    assert props["EncryptionConfiguration"]["EncryptionType"] == "KMS"
    rules = json.loads(props["LifecyclePolicy"]["LifecyclePolicyText"])["rules"]
    # The deployed-* rule must outrank the catch-all, or the running image could be expired.
    assert rules[0]["selection"]["tagPrefixList"] == ["deployed-"]
    assert rules[-1]["selection"]["tagStatus"] == "any"


@pytest.mark.threat("T-05")
def test_signing_secret_is_generated_long_and_rotated(template: dict[str, Any]) -> None:
    secret = template["Resources"]["JwtSecret"]["Properties"]
    assert secret["GenerateSecretString"]["PasswordLength"] >= 64
    assert "SecretStringTemplate" not in secret["GenerateSecretString"]  # the raw key, not JSON
    rotation = template["Resources"]["JwtSecretRotation"]["Properties"]
    assert rotation["RotationLambdaARN"] == {"Fn::GetAtt": ["RotationFunction", "Arn"]}


def test_bucket_is_private_encrypted_versioned_and_tls_only(template: dict[str, Any]) -> None:
    bucket = template["Resources"]["Bucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    (deny,) = template["Resources"]["BucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_bucket_is_encrypted_with_its_own_rotated_key_that_only_the_api_uses_through_s3(
    template: dict[str, Any],
) -> None:
    # Trivy's AVD-AWS-0132 (HIGH): a customer managed key, not the AWS managed aws/s3 one.
    (rule,) = template["Resources"]["Bucket"]["Properties"]["BucketEncryption"][
        "ServerSideEncryptionConfiguration"
    ]
    assert rule["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": {"Fn::GetAtt": ["FilesKey", "Arn"]},
    }
    assert rule["BucketKeyEnabled"] is True  # a KMS request per bucket key, not per object
    (key_name,) = _resources(template, "AWS::KMS::Key")
    assert key_name == "FilesKey"
    key = template["Resources"]["FilesKey"]
    # The retained bucket's objects are unreadable without it.
    assert key["DeletionPolicy"] == key["UpdateReplacePolicy"] == "Retain"
    assert key["Properties"]["EnableKeyRotation"] is True
    assert key["Properties"]["KeySpec"] == "SYMMETRIC_DEFAULT"
    (statement,) = key["Properties"]["KeyPolicy"]["Statement"]
    # Only the account, which delegates to IAM: no other account, service or wildcard principal.
    assert statement["Principal"] == {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}}
    grants = [
        (name, s)
        for name, role in _resources(template, "AWS::IAM::Role").items()
        for s in _statements(role)
        if any(a.startswith("kms:") for a in _as_list(s["Action"]))
    ]
    assert grants == [
        (
            "ApiRole",
            {
                "Sid": "FilesKeyThroughS3",
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": {"Fn::GetAtt": ["FilesKey", "Arn"]},
                "Condition": {
                    "StringEquals": {"kms:ViaService": {"Fn::Sub": "s3.${AWS::Region}.amazonaws.com"}}
                },
            },
        )
    ]


@pytest.mark.threat("T-17")
def test_deploy_role_trusts_one_project_branch_and_audience(template: dict[str, Any]) -> None:
    role = template["Resources"]["DeployRole"]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    condition = trust["Condition"]
    assert list(condition) == ["StringEquals"]  # exact match: no wildcard on sub
    assert condition["StringEquals"]["gitlab.com:aud"] == {"Ref": "GitLabAudience"}
    assert condition["StringEquals"]["gitlab.com:sub"] == {
        "Fn::Sub": "project_path:${GitLabProjectPath}:ref_type:branch:ref:${DeployBranch}"
    }
    assert template["Parameters"]["DeployBranch"]["Default"] == "main"
    provider = template["Resources"]["GitLabOidcProvider"]["Properties"]
    assert provider["Url"] == "https://gitlab.com"
    assert provider["ClientIdList"] == [{"Ref": "GitLabAudience"}]


@pytest.mark.threat("T-17")
def test_roles_are_least_privilege(template: dict[str, Any]) -> None:
    deploy = _statements(template["Resources"]["DeployRole"])
    actions = {a for s in deploy for a in _as_list(s["Action"])}
    assert actions == {
        "ecr:GetAuthorizationToken",
        "ecr:BatchCheckLayerAvailability",
        "ecr:InitiateLayerUpload",
        "ecr:UploadLayerPart",
        "ecr:CompleteLayerUpload",
        "ecr:PutImage",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
        "ecr:DescribeImages",
        "ecr:DescribeImageScanFindings",
        "lambda:UpdateFunctionCode",
        "lambda:GetFunction",
        "lambda:GetFunctionConfiguration",
    }
    wildcard_ok = {"ecr:GetAuthorizationToken"}
    for role in _resources(template, "AWS::IAM::Role").values():
        for statement in _statements(role):
            assert statement["Effect"] == "Allow"
            assert not any("*" in a for a in _as_list(statement["Action"])), statement
            if statement["Resource"] == "*":
                assert set(_as_list(statement["Action"])) <= wildcard_ok, statement
    api = _statements(template["Resources"]["ApiRole"])
    secret = next(s for s in api if s["Sid"] == "ReadSigningKey")
    assert secret == {
        "Sid": "ReadSigningKey",
        "Effect": "Allow",
        "Action": "secretsmanager:GetSecretValue",
        "Resource": {"Ref": "JwtSecret"},
    }
    rotation = _statements(template["Resources"]["RotationRole"])
    assert {a for s in rotation for a in _as_list(s["Action"]) if a.startswith("secretsmanager:")} == {
        "secretsmanager:DescribeSecret",
        "secretsmanager:GetSecretValue",
        "secretsmanager:PutSecretValue",
        "secretsmanager:UpdateSecretVersionStage",
    }
    assert all(s["Resource"] == {"Ref": "JwtSecret"} for s in rotation if s["Sid"] != "WriteOwnLogs")
    objects = next(s for s in api if s["Sid"] == "FileObjects")
    assert objects["Resource"] == {"Fn::Sub": "${Bucket.Arn}/*"}
    s3_actions = {a for s in api for a in _as_list(s["Action"]) if a.startswith("s3:")}
    assert s3_actions == {"s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket"}


# ---------------------------------------------------------------------------------------- linters


@pytest.mark.slow
def test_cfn_lint_finds_nothing() -> None:
    done = subprocess.run(
        [tool("cfn-lint"), str(TEMPLATE)], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.slow
@pytest.mark.threat("T-18")
def test_checkov_passes_infra_with_reasoned_inline_skips_only() -> None:
    (report,) = checkov("-d", "infra", "--framework", "cloudformation")["results"]
    assert report["summary"]["failed"] == 0, [c["check_id"] for c in report["results"]["failed_checks"]]
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["passed"] > 40
    text = TEMPLATE.read_text()
    for skipped in report["results"]["skipped_checks"]:
        # Every skip is an inline Metadata entry with a written reason.
        assert re.search(rf"- id: {skipped['check_id']}\n\s+comment: \S", text), skipped["check_id"]
