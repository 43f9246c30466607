"""Run every notebook in `nbs/` as a test (as `nbdev_test` does), and check that the library is in sync.

The notebooks are the source of truth: their test cells are the package's tests. Cells flagged with
one of settings.ini's `tst_flags` (`slow`, `gpu`) are skipped unless named in `DDG_TEST_FLAGS`."""
import os, shutil, subprocess, filecmp, configparser
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
NBS = ROOT/'nbs'

def _notebooks():
    "Notebooks nbdev would test: skip names and folders starting with `_` or `.`."
    return sorted(p for p in NBS.rglob('*.ipynb')
                  if not any(part.startswith(('_', '.')) for part in p.relative_to(NBS).parts))

def _flags():
    cfg = configparser.ConfigParser(delimiters=['=']); cfg.read(ROOT/'settings.ini')
    flags = cfg['DEFAULT'].get('tst_flags', '').split('|')
    force = os.environ.get('DDG_TEST_FLAGS', '').split()
    return [f for f in flags if f and f not in force], force

@pytest.mark.parametrize('nb', _notebooks(), ids=lambda p: str(p.relative_to(NBS)))
def test_notebook(nb):
    from nbdev.test import test_nb
    skip, force = _flags()
    ok, _ = test_nb(nb, skip_flags=skip, force_flags=force, basepath=ROOT)
    assert ok, f'{nb.name} failed (the traceback is printed above)'

def _tree(d):
    return sorted(p.relative_to(d) for p in Path(d).rglob('*.py'))

def test_library_in_sync(tmp_path):
    "`nbdev_export` from the notebooks reproduces `ddg_nb/` exactly (nobody edited the library by hand)."
    for f in ['settings.ini', 'setup.py']: shutil.copy(ROOT/f, tmp_path/f)
    shutil.copytree(NBS, tmp_path/'nbs')
    env = {k: v for k, v in os.environ.items() if k != 'IN_TEST'}  # nbdev_test sets IN_TEST, which makes nbdev_export a no-op
    subprocess.run(['nbdev_export'], cwd=tmp_path, check=True, capture_output=True, env=env)
    want, have = tmp_path/'ddg_nb', ROOT/'ddg_nb'
    assert _tree(want) == _tree(have), f'exported modules differ: {set(_tree(want)) ^ set(_tree(have))}'
    stale = [str(p) for p in _tree(want) if not filecmp.cmp(want/p, have/p, shallow=False)]
    assert not stale, f'ddg_nb/ is out of sync with nbs/ (run nbdev_export): {stale}'

def test_readme_matches_index():
    "README.md is rendered from nbs/index.ipynb (`python tools/readme.py`)."
    import sys; sys.path.insert(0, str(ROOT/'tools'))
    from readme import render_readme
    assert (ROOT/'README.md').read_text() == render_readme(NBS/'index.ipynb'), 'run: python tools/readme.py'

def test_ci_runs_readme_test_command():
    "CI calls exactly the test command that README.md shows."
    import sys; sys.path.insert(0, str(ROOT/'tools'))
    from readme import readme_commands
    cmds = readme_commands((ROOT/'README.md').read_text())
    assert 'test' in cmds, 'README.md has no test command block'
    assert cmds['test'] in (ROOT/'.ci'/'run').read_text()
