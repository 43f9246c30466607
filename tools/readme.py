"""Render README.md from nbs/index.ipynb without Quarto (nbdev_readme needs Quarto, which is not
installable everywhere). Usage: python tools/readme.py"""
import re, json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def render_readme(index):
    "Markdown of `index`: markdown cells as they are, code cells (minus `#|` directive lines and `hide`/`skip` cells) fenced."
    nb = json.loads(Path(index).read_text())
    parts = []
    for c in nb['cells']:
        src = ''.join(c['source']).strip()
        if c['cell_type'] == 'markdown': parts.append(src); continue
        lines = src.splitlines()
        directives = [l for l in lines if l.startswith('#|')]
        if any(re.search(r'\b(hide|exec_doc: false|echo: false|include: false)\b', d) for d in directives): continue
        code = '\n'.join(l for l in lines if not l.startswith('#|')).strip()
        if code: parts.append(f'```python\n{code}\n```')
    return '<!-- Generated from nbs/index.ipynb by tools/readme.py: edit the notebook, not this file. -->\n\n' + '\n\n'.join(parts) + '\n'

def readme_commands(md):
    "The shell blocks of README.md keyed by the word after `# ` on their first line (e.g. `# demo`, `# test`)."
    out = {}
    for block in re.findall(r'```(?:sh|bash|shell)\n(.*?)```', md, flags=re.S):
        first, *rest = block.strip().splitlines()
        m = re.match(r'#\s*(\w+)', first)
        if m: out[m.group(1)] = '\n'.join(rest).strip()
    return out

if __name__ == '__main__':
    (ROOT/'README.md').write_text(render_readme(ROOT/'nbs'/'index.ipynb'))
    print('wrote README.md')
