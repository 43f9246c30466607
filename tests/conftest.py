import os, torch
# Notebooks run in-process (execnb); with pytest-xdist two workers share the 2 cores.
if os.environ.get('PYTEST_XDIST_WORKER'): torch.set_num_threads(max(1, (os.cpu_count() or 2)//2))
os.environ.setdefault('MPLBACKEND', 'Agg')

import shutil, importlib.util, pytest

def require_tools(what:str, # what needs them, for the message
                  *tools:str): # 'chromium' (a program on PATH) or importable package names
    "Skip a test whose tools are missing; in CI (`CI` set, where `.ci/run` installs them) fail instead."
    hint = {'chromium': 'apt-get install chromium'}
    missing = [f"{t} ({hint.get(t, 'pip install ' + t)})" for t in tools
               if not (shutil.which(t) if t == 'chromium' else importlib.util.find_spec(t))]
    if missing:
        msg = f'{what} needs {", ".join(missing)}'
        if os.environ.get('CI'): pytest.fail(msg)
        pytest.skip(msg)
