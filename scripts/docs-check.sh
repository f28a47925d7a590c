#!/usr/bin/env bash
# Gate `docs`: the documentation as the Ansible docsite tooling sees it.
#  1. antsibull-docs lint-collection-docs --plugin-docs on the installed tarball: module and
#     role docs against the docsite schema, every M()/O()/RV() reference resolved (all
#     collections), RST of the generated pages checked; zero errors.
#  2. The docsite, built the way antsibull-docs sets one up for a collection: docs/docsite/rst
#     current with the Markdown it comes from (tooling/docsite_rst.py --check: the role READMEs
#     and docs/*.md as extra docs), `antsibull-docs sphinx-init` into a
#     temporary directory, then its build.sh (`antsibull-docs collection --fail-on-error`,
#     `sphinx-build -W --keep-going`, nitpicky): zero warnings. Offline: no intersphinx
#     inventory can be fetched, so a reference to a label outside this collection (ansible-core's
#     docs, ansible.builtin / community.general plugins) is rendered as text and listed; a
#     missing label of this collection fails. Then every role has its reference page (a role
#     whose argument_specs ansible-doc cannot read is skipped silently by antsibull-docs) and a
#     guide page with YAML examples.
#  3. antsibull-changelog: fragments lint, CHANGELOG.rst current (scripts/changelog.sh --check).
# Tools: .cache/venv-ecosystem (tooling/requirements-ecosystem.txt) for 1, .cache/venv-docsite
# (tooling/requirements-docsite.txt: antsibull-docs, Sphinx, sphinx-ansible-theme) for 2; pinned.
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

echo "== docsite (antsibull-docs sphinx-init + collection, sphinx-build -W)"
ds=$("$root/scripts/venv.sh" docsite | tail -n 1)
"$ds/bin/python" "$root/tooling/docsite_rst.py" --check
site="$work/site"
mkdir -m 700 "$site"   # antsibull-docs wants its directories writable by the owner only
cols="$work/collections"   # the installed tarball, nothing else
ANSIBLE_COLLECTIONS_PATH="$cols" PATH="$ds/bin:$PATH" antsibull-docs sphinx-init --use-current --squash-hierarchy --fail-on-error \
  --no-add-antsibull-docs-version --title 'rampart.firewall' --html-short-title 'rampart.firewall' \
  --dest-dir "$site" rampart.firewall >/dev/null
cat >> "$site/conf.py" <<'PY'

# ---- added by scripts/docs-check.sh: an offline build ----
# No intersphinx inventory can be fetched (docs.ansible.com, docs.python.org): a reference to a
# label outside rampart.firewall is rendered as plain text and listed in RAMPART_EXTERNAL_REFS;
# a missing label of this collection stays an error (-W).
import os as _os
intersphinx_mapping = {}


def _rampart_external_ref(app, env, node, contnode):
    target = node.get('reftarget') or ''
    if node.get('refdomain') == 'std' and node.get('reftype') == 'ref' \
            and not target.startswith('ansible_collections.rampart.firewall.'):
        with open(_os.environ['RAMPART_EXTERNAL_REFS'], 'a') as f:
            f.write('%s\t%s\n' % (target, node.get('refdoc')))
        return contnode
    return None


def setup(app):
    app.connect('missing-reference', _rampart_external_ref)
PY
: > "$work/external-refs.txt"
if ! (cd "$site" && ANSIBLE_COLLECTIONS_PATH="$cols" RAMPART_EXTERNAL_REFS="$work/external-refs.txt" \
        PATH="$ds/bin:$PATH" ./build.sh) \
     >"$work/docsite.log" 2>&1; then
  grep -E 'WARNING|ERROR|rror' "$work/docsite.log" || tail -n 40 "$work/docsite.log"
  echo "docsite: build failed (warnings are errors)"
  exit 1
fi
grep -E '^build (succeeded|finished)' "$work/docsite.log"
html="$site/build/html"
python3 - "$root" "$html" "$work/external-refs.txt" <<'PY'
import glob, os, re, sys
root, html, ext = sys.argv[1:4]
problems = []
pages = glob.glob(os.path.join(html, '**', '*.html'), recursive=True)
roles = sorted(os.path.basename(os.path.dirname(os.path.dirname(p)))
               for p in glob.glob(os.path.join(root, 'roles', '*', 'meta', 'argument_specs.yml')))
for role in roles:
    ref = os.path.join(html, '%s_role.html' % role)
    guide = os.path.join(html, 'docsite', 'role_%s.html' % role)
    if not os.path.exists(ref):
        problems.append('%s: no reference page (ansible-doc could not read its argument_specs?)' % role)
        continue
    ref_text = open(ref, encoding='utf-8').read()
    ref_examples = re.search(r'id="examples(-[0-9]+)?"', ref_text) is not None
    guide_examples = 0
    if os.path.exists(guide):
        guide_examples = open(guide, encoding='utf-8').read().count('highlight-yaml')
    if not ref_examples and not guide_examples:
        problems.append('%s: no example on its reference page nor a guide page with one' % role)
    print('docsite: role %-20s reference page %s (examples: %s), guide page docsite/role_%s.html (%d YAML examples)'
          % (role, os.path.basename(ref), 'yes' if ref_examples else 'no', role, guide_examples))
index = open(os.path.join(html, 'index.html'), encoding='utf-8').read()
for want in ('docsite/role_single_host.html', 'docsite/testing_with_molecule.html'):
    if want not in index:
        problems.append('the collection index does not link %s' % want)
refs = sorted({line.split('\t')[0] for line in open(ext) if line.strip()})
print('docsite: %d HTML pages; %d external label(s) rendered as text offline: %s'
      % (len(pages), len(refs), ', '.join(refs) or 'none'))
if problems:
    sys.exit('docsite: ' + '; '.join(problems))
print('docsite: 0 warnings, every role has a reference page and examples')
PY

echo "== antsibull-changelog"
"$root/scripts/changelog.sh" --check
