"""The role READMEs and docs/*.md as extra docs of the docsite, in RST.

antsibull-docs takes a collection's extra docs from docs/docsite/rst/*.rst, listed in
docs/docsite/extra-docs.yml; the READMEs and guides are Markdown and stay the source. This
script converts them (markdown-it-py, the subset of CommonMark + tables they use) and writes
docs/docsite/rst/ and extra-docs.yml, so the pages ship in the tarball and the docsite built
from a published collection has them. The `docs` gate runs it with --check: a Markdown file
edited, added or removed without regenerating fails the gate.

  python tooling/docsite_rst.py           write docs/docsite/rst/*.rst and extra-docs.yml
  python tooling/docsite_rst.py --check   fail when a page is missing, left over or not current

Run with .cache/venv-docsite/bin/python (tooling/requirements-docsite.txt): it needs
markdown-it-py. Unsupported Markdown (HTML other than comments, images, block quotes...) stops it with the file
and the line rather than producing a broken page.
"""
import argparse
import difflib
import glob
import os
import posixpath
import re
import sys

from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTION = 'rampart.firewall'
LABEL_PREFIX = 'ansible_collections.%s.docsite.' % COLLECTION
OUT_DIR = os.path.join('docs', 'docsite', 'rst')
# Markdown source -> page name (docs/docsite/rst/NAME.rst, label LABEL_PREFIX + NAME)
EXTRA_DOCS = os.path.join('docs', 'docsite', 'extra-docs.yml')
# The roles in the order of the docsite (the three to use first, the engine last); a new role
# is appended.
ROLE_ORDER = ['single_host', 'masquerading_router', 'bastion', 'firewall_base']
ROLES = sorted((os.path.basename(os.path.dirname(p)) for p in glob.glob(os.path.join(ROOT, 'roles', '*', 'README.md'))),
               key=lambda r: (ROLE_ORDER.index(r) if r in ROLE_ORDER else len(ROLE_ORDER), r))
GUIDES = sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, 'docs', '*.md')))
PAGES = [('roles/%s/README.md' % r, 'role_%s' % r, r) for r in ROLES] + [
    (g, os.path.basename(g)[:-3].replace('-', '_'), None) for g in GUIDES
]
ADORNMENT = {1: '=', 2: '-', 3: '~', 4: '^'}
# Characters docutils accepts right before / right after inline markup.
BEFORE_OK = set(' \t\n\'"([{<-/:')
AFTER_OK = set(' \t\n\'")]}>-/:.,;!?\\')


class Unsupported(Exception):
    pass


def plugin_names():
    names = {}
    for path in glob.glob(os.path.join(ROOT, 'plugins', 'modules', '*.py')):
        name = os.path.basename(path)[:-3]
        if not name.startswith('_'):
            names['%s.%s' % (COLLECTION, name)] = 'module'
    for role in ROLES:
        names['%s.%s' % (COLLECTION, role)] = 'role'
    return names


def escape(text):
    """Plain text: no RST markup (emphasis, literals, references, substitutions)."""
    return re.sub(r'([\\*`|_\[\]])', r'\\\1', text)


class Renderer:
    def __init__(self, source, plugins, refs):
        self.source = source
        self.plugins = plugins   # FQCN -> plugin type, linked with :ansplugin:
        self.refs = refs         # Markdown path -> label of its page

    def fail(self, node, what):
        line = node.map[0] + 1 if node.map else '?'
        raise Unsupported('%s:%s: %s is not supported by tooling/docsite_rst.py' % (self.source, line, what))

    # ---- inline ----
    def inline(self, node):
        parts = []   # (text, is_markup)
        self._inline(node, parts)
        out = ''
        for i, (text, markup) in enumerate(parts):
            if markup:
                prev = out[-1:] if out else ' '
                if prev not in BEFORE_OK:
                    out += '\\ '
                out += text
                nxt = parts[i + 1][0][:1] if i + 1 < len(parts) else ' '
                if nxt and nxt not in AFTER_OK:
                    out += '\\ '
            else:
                out += text
        return out.strip()

    def _inline(self, node, parts):
        for child in node.children:
            t = child.type
            if t == 'text':
                parts.append((escape(child.content), False))
            elif t == 'html_inline' and re.fullmatch(r'<!--.*?-->', child.content, re.S):
                continue
            elif t in ('softbreak', 'hardbreak'):
                parts.append((' ', False))
            elif t == 'code_inline':
                parts.append((self.code(child.content), True))
            elif t in ('strong', 'em'):
                inner = []
                self._inline(child, inner)
                if any(part[1] for part in inner):
                    self.fail(node, 'markup inside %s' % t)
                mark = '**' if t == 'strong' else '*'
                parts.append((mark + ''.join(part[0] for part in inner) + mark, True))
            elif t == 'link':
                inner = []
                self._inline(child, inner)
                text = ''.join(part[0] for part in inner)
                href = child.attrs.get('href', '')
                if re.match(r'https?://', href):
                    parts.append(('`%s <%s>`__' % (text, href), True))
                    continue
                # a path relative to the Markdown file: a converted page, or a file of the collection
                path = posixpath.normpath(posixpath.join(posixpath.dirname(self.source), href.split('#')[0]))
                if path in self.refs:
                    parts.append((':ref:`%s <%s>`' % (text, self.refs[path]), True))
                elif os.path.exists(os.path.join(ROOT, path)) and not path.startswith('..'):
                    parts.append((text, False))
                    if text != escape(path):
                        parts.append((' (', False))
                        parts.append((self.code(path), True))
                        parts.append((')', False))
                else:
                    self.fail(node, 'the link target %r (neither http(s) nor a file of the collection)' % href)
            else:
                self.fail(node, 'inline %s' % t)

    def code(self, content):
        if content in self.plugins:
            return ':ansplugin:`%s#%s`' % (content, self.plugins[content])
        if content in self.refs:
            return ':ref:`%s <%s>`' % (content, self.refs[content])
        if content != content.strip():
            content = '"%s"' % content   # an inline literal cannot start or end with a space
        if '``' in content:
            raise Unsupported('%s: inline code with two backticks: %r' % (self.source, content))
        return '``%s``' % content

    # ---- blocks ----
    def blocks(self, node, indent=''):
        out = []
        for child in node.children:
            text = self.block(child, indent)
            if text is not None:
                out.append(text)
        return '\n\n'.join(out)

    def block(self, node, indent):
        t = node.type
        if t == 'heading':
            level = int(node.tag[1])
            if indent or level not in ADORNMENT:
                self.fail(node, 'a heading of level %d here' % level)
            title = self.inline(node.children[0])
            return '%s\n%s' % (title, ADORNMENT[level] * len(title))
        if t == 'paragraph':
            text = self.inline(node.children[0])
            # what RST would read as an enumerator, a comment or a literal-block marker
            text = re.sub(r'^([A-Za-z0-9#]{1,3}[.)] )', r'\\\1', text)
            if text.startswith('..'):
                text = '\\' + text
            if text.endswith('::'):
                text = text[:-1] + '\\:'
            return indent + text
        if t in ('bullet_list', 'ordered_list'):
            items = []
            start = int(node.attrs.get('start', 1) or 1)
            for n, item in enumerate(node.children):
                marker = '- ' if t == 'bullet_list' else '%d. ' % (start + n)
                body = self.blocks(item, indent + ' ' * len(marker))
                items.append(indent + marker + body[len(indent) + len(marker):])
            return '\n\n'.join(items)
        if t == 'fence' or t == 'code_block':
            lang = (node.info or '').strip().split(' ')[0] if t == 'fence' else ''
            lang = {'sh': 'console', 'shell': 'console', 'bash': 'console', '': 'text'}.get(lang, lang)
            body = '\n'.join((indent + '   ' + line) if line.strip() else ''
                             for line in node.content.rstrip('\n').split('\n'))
            return '%s.. code-block:: %s\n\n%s' % (indent, lang, body)
        if t == 'table':
            return self.table(node, indent)
        if t == 'hr':
            return None
        if t == 'html_block' and re.fullmatch(r'\s*<!--.*?-->\s*', node.content, re.S):
            return None   # an HTML comment (markers for tests), not shown on GitHub either
        self.fail(node, 'the block %s' % t)

    def table(self, node, indent):
        rows = []
        header = 0
        for section in node.children:       # thead, tbody
            for tr in section.children:
                rows.append([self.inline(td.children[0]) if td.children else '' for td in tr.children])
                if section.type == 'thead':
                    header += 1
        out = ['%s.. list-table::' % indent, '%s   :header-rows: %d' % (indent, header), '']
        for row in rows:
            for i, cell in enumerate(row):
                lead = '* - ' if i == 0 else '  - '
                out.append(('%s   %s%s' % (indent, lead, cell)).rstrip())
        return '\n'.join(out)


def convert(source, name, role, plugins, refs):
    with open(os.path.join(ROOT, source), encoding='utf-8') as f:
        text = f.read()
    md = MarkdownIt('commonmark').enable('table')
    tree = SyntaxTreeNode(md.parse(text))
    renderer = Renderer(source, plugins, refs)
    body = renderer.blocks(tree)
    title, dummy, rest = body.partition('\n\n')
    if '\n=' not in title:
        raise Unsupported('%s: the file must start with a level-1 heading' % source)
    head = [
        '..',
        '  Generated from %s by tooling/docsite_rst.py: edit the Markdown file, then run' % source,
        '  .cache/venv-docsite/bin/python tooling/docsite_rst.py (the docs gate checks it).',
        '',
        '.. _%s%s:' % (LABEL_PREFIX, name),
        '',
        title,
        '',
    ]
    if role:
        head += ['Options, defaults and types: the role reference :ansplugin:`%s.%s#role`.' % (COLLECTION, role), '']
    return '\n'.join(head) + '\n' + rest.rstrip('\n') + '\n'


def extra_docs():
    lines = [
        '---',
        '# Generated by tooling/docsite_rst.py (the docs gate checks it): the extra pages of the docsite,',
        '# converted from the role READMEs and docs/*.md to docs/docsite/rst/.',
        'sections:',
        '  - title: Roles (guides with examples)',
        '    toctree:',
    ] + ['      - %s' % name for source, name, role in PAGES if role] + [
        '  - title: Guides',
        '    toctree:',
    ] + ['      - %s' % name for source, name, role in PAGES if not role]
    return '\n'.join(lines) + '\n'


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--check', action='store_true', help='fail when docs/docsite/rst is not current')
    args = parser.parse_args()
    plugins = plugin_names()
    refs = {page[0]: LABEL_PREFIX + page[1] for page in PAGES}
    stale = []
    outputs = [(EXTRA_DOCS, 'the list of pages', None)]
    outputs += [(os.path.join(OUT_DIR, name + '.rst'), source, (name, role)) for source, name, role in PAGES]
    for rel, source, page_of in outputs:
        try:
            page = extra_docs() if page_of is None else convert(source, page_of[0], page_of[1], plugins, refs)
        except Unsupported as exc:
            sys.exit('docsite_rst: %s' % exc)
        target = os.path.join(ROOT, rel)
        current = open(target, encoding='utf-8').read() if os.path.exists(target) else None
        if current == page:
            continue
        if args.check:
            stale.append(rel)
            sys.stdout.writelines(difflib.unified_diff(
                (current or '').splitlines(True), page.splitlines(True), rel, source + ' (converted)', n=1))
        else:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, 'w', encoding='utf-8') as f:
                f.write(page)
            print('docsite_rst: wrote %s' % os.path.relpath(target, ROOT))
    wanted = {page[1] + '.rst' for page in PAGES}
    out_dir = os.path.join(ROOT, OUT_DIR)
    for left_over in sorted(set(os.listdir(out_dir)) - wanted):
        rel = os.path.join(OUT_DIR, left_over)
        if args.check:
            stale.append(rel + ' (no Markdown source)')
        else:
            os.remove(os.path.join(ROOT, rel))
            print('docsite_rst: removed %s (no Markdown source)' % rel)
    if args.check:
        if stale:
            sys.exit('docsite_rst: not current with the Markdown sources: %s; run '
                     '.cache/venv-docsite/bin/python tooling/docsite_rst.py' % ', '.join(stale))
        print('docsite_rst: %d pages and extra-docs.yml current with their Markdown sources (%s)'
              % (len(PAGES), ', '.join(page[0] for page in PAGES)))


if __name__ == '__main__':
    main()
