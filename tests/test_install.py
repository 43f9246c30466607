"""ddg_nb as a user installs it, in a brand-new venv that sees none of the development environment's packages.

The development venv has the dev extras (nbdev, fastcore<2, ipywidgets, ...), which once hid a broken runtime
requirement: `pip install -e .` alone brought fastcore 2 and `ddg` failed on import. This test builds the package
the way a release is built (`python -m build`: an sdist, then a wheel built *from the sdist*), installs it without
extras in a fresh venv, and uses it: `ddg --help`, an import of every public module, the command line's parsing
under whatever fastcore pip chose, and a tiny end-to-end `ddg run` with its figures. Then it installs the clone
editable (the README's `pip install -e .`) and the spec of the tutorials' install cell (`ddg_nb[widgets] @ git+...`,
pointed at a local repository).

It needs the package registries (pip resolves the runtime requirements afresh; wheels already on the machine are
reused) and a few GB of disk for the venv (PyTorch), removed afterwards. Deselect it with `-m "not install"`;
CI runs it."""
import os, re, sys, json, shutil, tarfile, zipfile, tempfile, subprocess, configparser, venv
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.install

def _env(venv_dir:Path)->dict:
    "The environment of a shell whose venv is `venv_dir`: its `bin` first on PATH, nothing of the dev env's Python path."
    env = {k: v for k, v in os.environ.items() if k not in ('PYTHONPATH', 'PYTHONHOME', 'VIRTUAL_ENV', 'PYTHONSTARTUP', 'IN_TEST')}
    return env | {'PATH': f"{venv_dir/'bin'}{os.pathsep}{env.get('PATH', '')}", 'VIRTUAL_ENV': str(venv_dir),
                  'MPLBACKEND': 'Agg', 'PIP_DISABLE_PIP_VERSION_CHECK': '1'}

def _sh(cmd:list, what:str, timeout:int=1200, **kw)->str:
    "Run `cmd`; on failure say which step failed, with the end of its output."
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout, **kw)
    if p.returncode: pytest.fail(f'{what} failed (exit {p.returncode}): {" ".join(map(str, cmd))}\n{(p.stdout + p.stderr)[-6000:]}')
    return p.stdout

def _copy_of_checkout(dest:Path)->Path:
    "The files a clone of this checkout would have (tracked and not-ignored untracked files), committed into a new git repository at `dest`."
    files = _sh(['git', 'ls-files', '--cached', '--others', '--exclude-standard', '-z'], 'listing the checkout', cwd=ROOT).split('\0')
    for f in filter(None, files):
        if (ROOT/f).is_file():
            (dest/f).parent.mkdir(parents=True, exist_ok=True); shutil.copy2(ROOT/f, dest/f)
    git = ['git', '-c', 'user.name=test', '-c', 'user.email=test@localhost', '-c', 'init.defaultBranch=main']
    for c in (['init', '-q'], ['add', '-A'], ['commit', '-q', '-m', 'checkout']): _sh(git + c, 'a git repository of the checkout', cwd=dest)
    return dest

def _version()->str:
    cfg = configparser.ConfigParser(delimiters=['=']); cfg.read(ROOT/'settings.ini')
    return cfg['DEFAULT']['version']

def _public_modules()->list:
    return sorted(f'ddg_nb.{p.stem}' for p in (ROOT/'ddg_nb').glob('*.py') if not p.stem.startswith('_'))

def _tutorial_install_spec()->str:
    "The requirement the quickstart's install cell passes to pip (`ddg_nb[...] @ git+https://...`)."
    nb = json.loads((ROOT/'nbs'/'tutorials'/'01_quickstart.ipynb').read_text())
    cells = [''.join(c['source']) for c in nb['cells'] if c['cell_type'] == 'code' and 'pip' in ''.join(c['source'])]
    specs = [m for c in cells for m in re.findall(r'"(ddg_nb[^"]* @ git\+[^"]+)"', c)]
    assert len(specs) == 1, f'expected one `ddg_nb[...] @ git+...` requirement in the quickstart install cell, found {specs}'
    return specs[0]

IMPORT_ALL = """import importlib, sys, json
mods = sys.argv[1:]
for m in mods: importlib.import_module(m)
import ddg_nb, fastcore, importlib.util as u
print(json.dumps({'file': ddg_nb.__file__, 'version': ddg_nb.__version__, 'fastcore': fastcore.__version__,
                  'absent': [p for p in ('nbdev', 'ipywidgets', 'seaborn', 'pandas', 'voila', 'playwright') if u.find_spec(p) is None]}))"""

WIDGETS = """from ddg_nb.widgets import TransferExplorer, LossCurves
import ipywidgets
assert issubclass(TransferExplorer, ipywidgets.VBox) and issubclass(LossCurves, ipywidgets.VBox)
print('widgets ok')"""

NO_WIDGETS = """from ddg_nb.widgets import TransferExplorer
try: TransferExplorer(None)
except ImportError as e: print(e)"""

def test_fresh_install():
    work = Path(tempfile.mkdtemp(prefix='ddg_install_'))  # not pytest's tmp_path: pytest keeps those, and this one holds a venv of GBs
    try: _check_install(work)
    finally: shutil.rmtree(work, ignore_errors=True)

def _check_install(work:Path):
    src = _copy_of_checkout(work/'clone')
    # 1. `python -m build`: the sdist, then the wheel built from the unpacked sdist
    _sh([sys.executable, '-m', 'build', '--outdir', work/'dist', src], 'python -m build (sdist, then a wheel from it)')
    v = _version()
    sdist, wheel = work/'dist'/f'ddg_nb-{v}.tar.gz', work/'dist'/f'ddg_nb-{v}-py3-none-any.whl'
    assert sdist.exists() and wheel.exists(), f'build made {sorted(p.name for p in (work/"dist").iterdir())}'
    with tarfile.open(sdist) as t: in_sdist = {Path(n).relative_to(f'ddg_nb-{v}').as_posix() for n in t.getnames() if '/' in n}
    for f in ('settings.ini', 'setup.py', 'README.md', 'LICENSE', 'CITATION.cff', 'CHANGELOG.md', 'ddg_nb/cli.py'): assert f in in_sdist, f'{f} is not in the sdist'
    with zipfile.ZipFile(wheel) as z: meta = z.read(f'ddg_nb-{v}.dist-info/METADATA').decode()
    reqs = re.findall(r'^Requires-Dist: (.+)$', meta, re.M)
    runtime = [r for r in reqs if 'extra ==' not in r]
    assert any(r.lower().startswith('pyyaml') for r in runtime), f'PyYAML is imported at run time but not required: {runtime}'
    assert not any(r.split()[0].lower().startswith(('ipywidgets', 'seaborn', 'nbdev', 'voila', 'playwright')) for r in runtime), runtime

    # 2. a fresh venv: it must not see the dev environment's packages
    vdir = work/'venv'; venv.create(vdir, with_pip=True, clear=True)
    py, env = vdir/'bin'/'python', _env(vdir)
    # (every command runs in `work`: from the checkout, `python -c` would import its ddg_nb/ folder)
    _sh([py, '-c', 'import importlib.util as u, sys; sys.exit(u.find_spec("nbdev") is not None or u.find_spec("ddg_nb") is not None)'],
        'the new venv is isolated from the dev environment', env=env, cwd=work)

    # 3. the wheel, no extras: the CLI, every public module, the command line's parsing, a tiny run with figures
    _sh([py, '-m', 'pip', 'install', '-q', wheel], 'pip install the wheel (no extras)', env=env, cwd=work)
    _sh([py, '-m', 'pip', 'check'], 'pip check', env=env, cwd=work)
    help_ = _sh(['ddg', '--help'], 'ddg --help', env=env, cwd=work)
    for c in ('demo', 'run', 'squeeze', 'bench', 'table', 'styleshapes'): assert f'  {c} ' in help_, help_
    got = json.loads(_sh([py, '-c', IMPORT_ALL, *_public_modules()], 'importing every public module', env=env, cwd=work).splitlines()[-1])
    assert Path(got['file']).is_relative_to(vdir), got
    assert got['version'] == v and {'nbdev', 'ipywidgets', 'seaborn', 'voila', 'playwright'} <= set(got['absent']), got
    print(f"fresh venv: fastcore {got['fastcore']}")
    assert 'pip install "ddg_nb[widgets]"' in _sh([py, '-c', NO_WIDGETS], 'a widget without ipywidgets', env=env, cwd=work)
    for flags in (['--dry_run', '--test_domains', 'sketch', '--figures', 'False'], ['--dry-run', '--test-domains=sketch']):
        out = _sh(['ddg', 'run', *flags, '--override', 'student.epochs=3', 'dtl.iterations=2'], f'ddg run {" ".join(flags)}', env=env, cwd=work)
        cfg = json.loads(out[:out.rindex('}') + 1])
        assert (cfg['test_domains'], cfg['student']['epochs'], cfg['dtl']['iterations']) == (['sketch'], 3, 2), out[-500:]
    data, runs = work/'data', work/'runs'
    _sh(['ddg', 'styleshapes', '--root', data, '--n_per_class', '2', '--size', '16'], 'ddg styleshapes', env=env, cwd=work)
    out = _sh(['ddg', 'run', '--preset', 'cpu-scratch', '--data_root', data, '--test_domains', 'sketch', '--ipc', '1',
               '--methods', 'random,dtl+dsm', '--out', runs, '--device', 'cpu', '--override', 'teacher.steps=10',
               'teacher.eval_every=5', 'dtl.iterations=2', 'dtl.steps_per_visit=1', 'student.epochs=2', 'student.eval_every=1'],
              'a tiny ddg run', env=env, cwd=work)
    assert '| dtl+dsm |' in out, out[-2000:]
    figs = sorted(p.name for p in (runs/'StyleShapes'/'figures').iterdir())
    assert figs == ['accuracy.png', 'sketch_images.png', 'sketch_losses.png', 'sketch_transfer_quality.png',
                    'sketch_transferred.png'], figs

    # 4. the README's `pip install -e .` from the clone, no extras
    _sh([py, '-m', 'pip', 'install', '-q', '-e', src], 'pip install -e . (no extras)', env=env, cwd=work)
    got = json.loads(_sh([py, '-c', IMPORT_ALL, *_public_modules()], 'importing every public module (editable)', env=env, cwd=work).splitlines()[-1])
    assert Path(got['file']).is_relative_to(src), got
    _sh(['ddg', '--help'], 'ddg --help (editable)', env=env, cwd=work)

    # 5. the tutorials' install cell, its repository swapped for the local one
    # (`git+file://localhost/...`: pip's requirement parser wants a host in a direct reference's URL)
    spec = re.sub(r'git\+https://\S+', f'git+file://localhost{src}', _tutorial_install_spec())
    _sh([py, '-m', 'pip', 'install', '-q', spec], f'pip install "{spec}" (the tutorials\' install cell)', env=env, cwd=work)
    assert 'widgets ok' in _sh([py, '-c', WIDGETS], 'the widgets with ipywidgets', env=env, cwd=work)
    _sh([py, '-m', 'pip', 'check'], 'pip check (with the widgets extra)', env=env, cwd=work)
