# shellcheck shell=sh
# Sourced (POSIX sh, so it works before bash exists on an Alpine job image) by every job that talks to
# AWS: trades the job's GitLab ID token (id_tokens: GITLAB_OIDC_TOKEN) for one-hour credentials of the
# deploy role. No long-lived key exists anywhere: AWS trusts the token's signature, its audience and
# its sub claim (this project, branch main) - see infra/template.yaml.
# Usage: . ci/aws-oidc-login.sh
if [ -z "${AWS_ROLE_ARN:-}" ]; then
  echo "aws-oidc-login: set AWS_ROLE_ARN (stack output DeployRoleArn) in the CI/CD variables" >&2
  return 1
fi
if [ -z "${GITLAB_OIDC_TOKEN:-}" ]; then
  echo "aws-oidc-login: the job needs id_tokens: GITLAB_OIDC_TOKEN" >&2
  return 1
fi
AWS_REGION=${AWS_REGION:-us-east-1}
AWS_DEFAULT_REGION=$AWS_REGION
export AWS_REGION AWS_DEFAULT_REGION

# Captured, never echoed: the session credentials must not reach the job log.
_oidc_creds=$(aws sts assume-role-with-web-identity \
  --role-arn "$AWS_ROLE_ARN" \
  --role-session-name "gitlab-${CI_PROJECT_ID:-local}-${CI_JOB_ID:-0}" \
  --web-identity-token "$GITLAB_OIDC_TOKEN" \
  --duration-seconds 3600 \
  --query 'Credentials.[AccessKeyId,SecretAccessKey,SessionToken]' \
  --output text) || {
  echo "aws-oidc-login: assume-role-with-web-identity was refused" >&2
  return 1
}
AWS_ACCESS_KEY_ID=$(printf '%s' "$_oidc_creds" | cut -f1)
AWS_SECRET_ACCESS_KEY=$(printf '%s' "$_oidc_creds" | cut -f2)
AWS_SESSION_TOKEN=$(printf '%s' "$_oidc_creds" | cut -f3)
export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
unset _oidc_creds
aws sts get-caller-identity --query Arn --output text
