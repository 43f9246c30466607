"""The docs site: build it from the notebooks without Quarto (`tools/build_docs.py`, every notebook executed, slow/gpu
cells skipped) and check every page in headless Chromium (`tools/check_docs.py`): images load, internal links and
anchors resolve, no request leaves 127.0.0.1, no console error, KaTeX typesets, the λ scrubbers react to the slider, every explorer control changes what it drives.

It is also the suite's run of the notebooks: while it is selected and can run, `tests/test_notebooks.py` skips
them (see `conftest.py`), so each runs once, `docs_jobs()` at a time. Marked `docs`: `pytest -m "not docs"` deselects
it, and the notebooks then run one test each. Needs Debian's `chromium` and the
`playwright` package (`.ci/run` installs both); where either is missing it is skipped, except in CI, where it fails."""
import os, sys, shutil, importlib.util
from pathlib import Path
import pytest
from conftest import require_tools, docs_jobs

ROOT = Path(__file__).resolve().parents[1]

@pytest.mark.docs
def test_docs_site(tmp_path):
    require_tools('docs check', 'chromium', 'playwright')
    sys.path.insert(0, str(ROOT/'tools'))
    import build_docs, check_docs
    rec = build_docs.build(tmp_path/'site', jobs=docs_jobs())
    print(f'docs built in {rec["seconds"]} s')
    want = {'index.html', 'widgets.html', 'explorers.html', 'tutorials/quickstart.html', 'tutorials/pacs.html'}
    assert want <= set(rec['pages']), f'missing pages: {want - set(rec["pages"])}'
    if os.environ.get('CI'): assert rec['katex'], 'KaTeX not found: apt-get install libjs-katex'
    rep = check_docs.check_site(tmp_path/'site', tmp_path/'shots', min_scrubbers=2, min_controls=6) # the explorers: steps (3), results (3)
    assert not rep['failures'], '\n'.join(rep['failures'])

def test_quarto_points_at_existing_files():
    "`_quarto.yml` names only files that exist (stylesheets, metadata files, resources)."
    import yaml
    q = yaml.safe_load((ROOT/'_quarto.yml').read_text())
    named = []
    def walk(v, key=''):
        if isinstance(v, dict): [walk(x, k) for k, x in v.items()]
        elif isinstance(v, list): [walk(x, key) for x in v]
        elif key in ('css', 'metadata-files', 'resources', 'include-in-header', 'logo', 'favicon'): named.append(v)
    walk(q)
    missing = [f for f in named if not (ROOT/f).exists()]
    assert not missing, f'_quarto.yml names missing files: {missing}'
    assert q['project']['type'] == 'website'
