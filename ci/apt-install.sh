#!/usr/bin/env bash
# Installs the named Debian packages on a Python job image, skipping any command already present (a
# shell-executor run on a developer machine has them), so the same job works on both.
set -euo pipefail
missing=()
for pkg in "$@"; do
  cmd=$pkg
  [[ $pkg == nodejs ]] && cmd=node
  command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
done
((${#missing[@]})) || exit 0
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
rm -rf /var/lib/apt/lists/*
