import os, torch
# Notebooks run in-process (execnb); with pytest-xdist two workers share the 2 cores.
if os.environ.get('PYTEST_XDIST_WORKER'): torch.set_num_threads(max(1, (os.cpu_count() or 2)//2))
os.environ.setdefault('MPLBACKEND', 'Agg')

import shutil, importlib.util, pytest

def _missing(tools)->list:
    "The tools of `tools` this machine lacks: 'chromium' (a program on PATH) or importable package names."
    return [t for t in tools if not (shutil.which(t) if t == 'chromium' else importlib.util.find_spec(t))]

def require_tools(what:str, # what needs them, for the message
                  *tools:str): # 'chromium' (a program on PATH) or importable package names
    "Skip a test whose tools are missing; in CI (`CI` set, where `.ci/run` installs them) fail instead."
    hint = {'chromium': 'apt-get install chromium'}
    missing = [f"{t} ({hint.get(t, 'pip install ' + t)})" for t in _missing(tools)]
    if missing:
        msg = f'{what} needs {", ".join(missing)}'
        if os.environ.get('CI'): pytest.fail(msg)
        pytest.skip(msg)

def docs_jobs()->int:
    "Notebooks the docs build runs at once: `DDG_DOCS_JOBS`, else 2 (the suite's cores)."
    return int(os.environ.get('DDG_DOCS_JOBS', 2))


@pytest.hookimpl(trylast=True) # after -k / -m deselection
def pytest_collection_modifyitems(config, items):
    """The docs build (`tests/test_docs.py`) executes every notebook as `nbdev_test` does and fails naming the notebook
    and cell; while it is selected and its tools are there, the notebook tests would run each notebook a second time,
    so they are skipped (`DDG_TEST_EACH_NOTEBOOK=1` keeps them). `pytest -k NAME` and `-m "not docs"` run them.
    (One check is only in the notebook tests: 01_data's counts of a real PACS at ../shared, which the docs build,
    working in a copy of the project, never sees.)"""
    if os.environ.get('DDG_TEST_EACH_NOTEBOOK') or _missing(['chromium', 'playwright']): return
    if not any(i.name == 'test_docs_site' for i in items): return
    skip = pytest.mark.skip(reason='run by the docs build (tests/test_docs.py::test_docs_site)')
    for i in items:
        if i.name.startswith('test_notebook['): i.add_marker(skip)
