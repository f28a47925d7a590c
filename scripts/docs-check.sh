#!/usr/bin/env bash
# Gate `docs`: the documentation as the Ansible docsite tooling sees it.
#  1. antsibull-docs lint-collection-docs --plugin-docs on the installed tarball: module and
#     role docs against the docsite schema, every M()/O()/RV() reference resolved (all
#     collections), RST of the generated pages checked; zero errors.
#  2. antsibull-changelog: fragments lint, CHANGELOG.rst current (scripts/changelog.sh --check).
# Tools: .cache/venv-ecosystem (tooling/requirements-ecosystem.txt, pinned).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=$("$root/scripts/venv.sh" ecosystem | tail -n 1)
work=$(mktemp -d /tmp/rampart-docs.XXXXXX)
trap 'rm -rf "$work"' EXIT

echo "== build and install"
mkdir -p "$work/src"
(cd "$root" && git ls-files -co --exclude-standard -z) | (cd "$root" && xargs -0 cp --parents -t "$work/src")
"$venv/bin/ansible-galaxy" collection build --force --output-path "$work" "$work/src" >/dev/null
"$venv/bin/ansible-galaxy" collection install --offline --force -p "$work/collections" "$work"/rampart-firewall-*.tar.gz >/dev/null

echo "== antsibull-docs lint-collection-docs --plugin-docs"
PATH="$venv/bin:$PATH" antsibull-docs lint-collection-docs --plugin-docs --validate-collection-refs all \
  --check-extra-docs-refs "$work/collections/ansible_collections/rampart/firewall"
echo "antsibull-docs: 0 errors"

echo "== antsibull-changelog"
"$root/scripts/changelog.sh" --check
