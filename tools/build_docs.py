"""Build the documentation site from the notebooks with Python only (Quarto is not needed):

    python tools/build_docs.py [--out _site] [--jobs 1]

Every notebook in `nbs/` (reading order = file name order, `index.ipynb` first as the home page, folders such as
`tutorials/` after the numbered chapters) is executed at build time the way `nbdev_test` runs it (cells flagged with
settings.ini's `tst_flags`, `slow` and `gpu`, are skipped and marked as such), so every figure is a live output of the
code above it. nbdev's own doc processors (`nbdev.processors.FilterDefaults`) then do what they do for `nbdev_docs`:
`#| hide` and `#| export` sources are dropped, exported names get `show_doc` API docs (signature and docments table),
headings ending in ` -` are removed, names in backticks are linked, and directives are stripped. nbconvert's
HTMLExporter renders each page with the template in `tools/docs_template/` (JupyterLab's styles in one shared
stylesheet, a sidebar in reading order, previous/next links), which loads nothing from another host: no require.js, no
CDN MathJax, no widget manager (an ipywidgets view shows a note; `ddg_nb.widgets.scrubber_html` is the static one). Math is typeset with KaTeX copied into the site (`_static/katex/`) from Debian's `libjs-katex`
(`/usr/share/javascript/katex`) or an npm `node_modules/katex/dist`; without either, LaTeX stays as text (a warning
says so).

Two departures from `nbdev_docs`: `show_doc` runs in the shell that executed the notebook (nbdev re-runs every cell
with an import in a fresh shell, which fails on a cell that mixes imports with code needing earlier cells), and tqdm
progress-bar lines are dropped from the outputs (the run logs stay). The notebooks run in a copy of the project in a temporary folder, so
`ddg_nb.data.shared_data_root()` finds no `../shared/data` and nothing from the real PACS can end up in the site.
Nothing here touches what `nbdev_docs` uses (it generates nbs/_quarto.yml, nbdev.yml and sidebar.yml itself); this
script is the path for machines without Quarto, and what CI checks (`tools/check_docs.py`, tests/test_docs.py).
"""
from __future__ import annotations
import os, sys, re, json, posixpath, time, shutil, tempfile, html, configparser, traceback
import multiprocessing as mp
from fastcore.script import call_parse
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from jupyter_core.paths import jupyter_path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = Path(__file__).resolve().parent/'docs_template'
KATEX_DIRS = [Path('/usr/share/javascript/katex'), ROOT/'node_modules'/'katex'/'dist']
_SKIP_TOP = {'.git', 'runs', 'data', '_site', '_site_shots', '_docs', '_proc', 'node_modules', 'build', 'dist'}
_SKIP_ANY = shutil.ignore_patterns('__pycache__', '.ipynb_checkpoints', '.pytest_cache', '*.egg-info')

def _copy_ignore(root:Path):
    "For `shutil.copytree`: leave out the project's outputs and caches (top level) and Python's caches (anywhere)."
    return lambda d, names: set(_SKIP_ANY(d, names)) | (_SKIP_TOP & set(names) if Path(d) == root else set())

def _settings(root:Path=ROOT)->dict:
    cfg = configparser.ConfigParser(delimiters=['=']); cfg.read(root/'settings.ini')
    return dict(cfg['DEFAULT'])

def notebooks(nbs:Path)->list:
    "Notebooks in reading order (relative paths): index first, then top-level by name, then sub-folders by name."
    found = [p.relative_to(nbs) for p in nbs.rglob('*.ipynb')
             if not any(part.startswith(('_', '.')) for part in p.relative_to(nbs).parts)]
    return sorted(found, key=lambda p: (p.as_posix() != 'index.ipynb', len(p.parts) > 1, p.as_posix()))

def page_name(rel:Path)->str:
    "The page a notebook becomes, as nbdev/Quarto name it (`00_core.ipynb` -> `core.html`), so nbdev's links agree."
    from nbdev.doclinks import _nbpath2html
    return _nbpath2html(Path(rel)).as_posix()

# ---- executing and processing one notebook (in a fresh process) ----------------------------------------------------

def _clean_output(o:dict)->dict:
    "A plain-JSON nbformat output (execnb returns AttrDicts, and text as lists)."
    return json.loads(json.dumps(o, default=str))

def execute_notebook(nb_path:str, # the notebook inside the project copy
                     skip_flags:list, # cells with one of these directives are not run
                     force_flags:list=(), # ... unless the flag is also here
                     basepath:str|None=None # put first on sys.path (the project copy), as nbdev_test does
                    )->dict:
    "Run `nb_path` as nbdev_test does, then nbdev's doc processors; returns the page as plain JSON."
    t0 = time.time()
    if basepath: sys.path.insert(0, str(basepath))
    os.environ['IN_TEST'] = '1'; os.environ.setdefault('MPLBACKEND', 'Agg')
    import torch; torch.set_num_threads(int(os.environ.get('OMP_NUM_THREADS') or 1))
    # this process was spawned, which made 'spawn' the default for pools the notebook starts; pytest runs them forked
    if sys.platform.startswith('linux'): mp.set_start_method('fork', force=True)
    from execnb.nbio import read_nb
    from execnb.shell import CaptureShell
    from nbdev.process import NBProcessor
    from fastcore.xtras import working_directory
    fn = Path(nb_path)
    nb = read_nb(fn)
    NBProcessor(nb=nb, procs=[], rm_directives=False) # parse the directives, keep them in the source for the doc processors
    flags = set(skip_flags) - set(force_flags)
    skipped = []
    for c in nb.cells:
        if c.cell_type == 'code': c.outputs, c.execution_count = [], None # only live outputs, never stored ones
    def _no_eval(cell):
        if cell.cell_type != 'code': return True
        d = getattr(cell, 'directives_', None) or {}
        if 'nbdev_export' + '(' in cell.source or d.get('eval:', [''])[0].lower() == 'false': return True
        hit = sorted(flags & d.keys())
        if hit: cell.metadata['ddg_skipped'] = hit; skipped.append(hit)
        return bool(hit)
    shell = CaptureShell(fn)
    with working_directory(fn.parent):
        try: shell.run_all(nb, exc_stop=True, preproc=_no_eval)
        except BaseException:
            raise RuntimeError(f'{fn.name} failed while building the docs:\n{shell.prettytb(fname=fn)}') from None
    t_exec = time.time() - t0
    NBProcessor(nb=nb, procs=_DocProcs(shell).procs()).process()
    cells = []
    for c in nb.cells:
        if c.cell_type == 'raw' and c.source.lstrip().startswith('---'): continue # Quarto front matter
        d = dict(cell_type=c.cell_type, source=c.source, metadata=dict(c.get('metadata', {})))
        if c.cell_type == 'code': d.update(outputs=[_clean_output(o) for o in c.get('outputs', [])], execution_count=None)
        cells.append(d)
    fm = dict(getattr(nb, 'frontmatter_', {}) or {})
    return dict(cells=cells, frontmatter={k: str(v) for k, v in fm.items()}, skipped=len(skipped),
                seconds=dict(execute=round(t_exec, 1), total=round(time.time() - t0, 1)))

def _DocProcs(shell):
    "nbdev's doc processors, with `show_doc` run in the shell that executed the notebook (see below)."
    from nbdev.processors import FilterDefaults, exec_show_docs, _is_showdoc
    class exec_show_docs_in_shell(exec_show_docs):
        # nbdev's `exec_show_docs` re-runs every exported cell and every cell with an import in a fresh shell, which
        # fails on a cell that mixes imports with code needing earlier cells; the notebook has run already, so only
        # the `show_doc` cells are run, in its own namespace.
        def begin(self):
            self.k = shell; shell.run_cell('from nbdev.showdoc import show_doc')
        def __call__(self, cell):
            if not self.nb.has_docs_ or not _is_showdoc(cell): return
            shell.cell(cell)
            if shell.exc: raise Exception(f'show_doc failed in cell {cell.idx_}:\n{cell.source}') from shell.exc
    class Procs(FilterDefaults):
        def base_procs(self): return [exec_show_docs_in_shell if p is exec_show_docs else p for p in super().base_procs()]
    return Procs()

def _worker(args):
    try: return execute_notebook(*args)
    except Exception: return dict(error=traceback.format_exc())

# ---- rendering -------------------------------------------------------------------------------------------------------

_re_qdir = re.compile(r'^\s*#\|\s*([\w-]+)\s*:\s*(.*?)\s*$')

def _quarto_directives(src:str)->tuple:
    "Split the `#| key: value` lines the doc processors add (`output: asis`, `echo: false`, ...) from the code."
    d, lines = {}, src.splitlines()
    while lines and _re_qdir.match(lines[0]):
        k, v = _re_qdir.match(lines[0]).groups(); d[k] = v.strip('"\''); lines.pop(0)
    return d, '\n'.join(lines).strip('\n')

_WIDGET = 'application/vnd.jupyter.widget-view+json'
_re_tqdm = re.compile(r'^.*\d+%\|.*\|\s*\d+/\d+\s*\[.*$\n?', re.M)

def _no_progress_bars(text:str)->str:
    "Drop tqdm's progress-bar lines from a stream: they are for people waiting, not for a page (the run logs stay)."
    return _re_tqdm.sub('', text)
_re_pandoc_link = re.compile(r'\[([^\]]+)\]\(([^)\s]+)\)\{([^}]*)\}')

def _pandoc_links(md:str)->str:
    "Pandoc's `[text](url){attrs}` (show_doc's source links, for Quarto) as an HTML link that plain markdown keeps."
    return _re_pandoc_link.sub(lambda m: f'<a href="{m.group(2)}" {m.group(3)}>{m.group(1)}</a>', md)

def _page_cells(cells:list)->list:
    "Cells ready for nbconvert: Quarto-style directives applied as tags, skipped cells marked, widget views explained."
    out = []
    for c in cells:
        c = json.loads(json.dumps(c))
        if c['cell_type'] == 'markdown':
            c['source'] = _pandoc_links(c['source'])
            if c['source'].strip(): out.append(c)
            continue
        if c['cell_type'] != 'code': continue
        d, c['source'] = _quarto_directives(c['source'])
        tags = set(c['metadata'].get('tags', []))
        if d.get('echo') == 'false': tags.add('remove_input')
        if d.get('output') == 'false': tags.add('remove_output')
        if d.get('include') == 'false': continue
        for o in c['outputs']:
            if isinstance(o.get('text'), list): o['text'] = ''.join(o['text'])
            if o.get('output_type') == 'stream': o['text'] = _no_progress_bars(o['text'])
            data = o.get('data', {})
            for k, v in data.items():
                if isinstance(v, list): data[k] = ''.join(v)
            if 'text/markdown' in data: data['text/markdown'] = _pandoc_links(data['text/markdown'])
            if _WIDGET in data:
                text = data.get('text/plain', '')
                o['data'] = {'text/html': '<div class="ddg-note">An interactive ipywidgets view (it needs a running Python '
                             f'kernel: open the notebook in Jupyter or Colab). Here: <code>{html.escape(text[:200])}</code></div>'}
        if c['metadata'].get('ddg_skipped'):
            flags = ', '.join(f'<code>#| {f}</code>' for f in c['metadata']['ddg_skipped'])
            c['outputs'] = [dict(output_type='display_data', metadata={}, data={'text/html':
                f'<div class="ddg-note ddg-skipped">Not run when the docs are built (flagged {flags}): run it yourself '
                'on a machine with the data or the GPU it needs.</div>'})]
        c['outputs'] = [o for o in c['outputs'] if o.get('output_type') != 'stream' or o['text'].strip()]
        if not c['source'].strip() and not c['outputs']: continue
        c['metadata']['tags'] = sorted(tags)
        out.append(c)
    return out

def _exporter():
    from traitlets.config import Config
    from nbconvert import HTMLExporter
    c = Config()
    c.TagRemovePreprocessor.enabled = True
    c.TagRemovePreprocessor.remove_cell_tags = {'remove_cell'}
    c.TagRemovePreprocessor.remove_input_tags = {'remove_input'}
    c.TagRemovePreprocessor.remove_all_outputs_tags = {'remove_output'}
    return HTMLExporter(config=c, template_name='lab', extra_template_paths=[str(TEMPLATES)], template_file='ddg_page.html.j2')

def _inline_code(text:str)->str:
    "Escaped text with `code` spans, for the page's one-line summary."
    return re.sub(r'`([^`]+)`', r'<code>\1</code>', html.escape(text))

def _nav(pages:list, current:str)->str:
    "The sidebar: every page in reading order, grouped by folder, links relative to `current`."
    up = '../'*current.count('/')
    items, group = [], None
    for p in pages:
        g = p['name'].rpartition('/')[0]
        if g != group:
            if group is not None: items.append('</ul>')
            group = g
            if g: items.append(f'<p class="ddg-nav-group">{html.escape(g.replace("_", " ").capitalize())}</p>')
            items.append('<ul>')
        cls = ' class="ddg-current" aria-current="page"' if p['name'] == current else ''
        items.append(f'<li><a href="{up}{p["name"]}"{cls}>{html.escape(p["title"])}</a></li>')
    items.append('</ul>')
    return '\n'.join(items)

def _contents(pages:list)->str:
    "The home page's table of contents: every other page with its one-line summary."
    rows = ''.join(f'<li><a href="{p["name"]}">{html.escape(p["title"])}</a>'
                   + (f' — {_inline_code(p["description"])}' if p['description'] else '') + '</li>'
                   for p in pages if p['name'] != 'index.html')
    return f'<section class="ddg-contents"><h2 id="contents">Contents</h2><ul>{rows}</ul></section>'

def _fix_links(body:str, doc_url:str, up:str)->str:
    """Links nbdev makes to the published site (`https://<user>.github.io/<repo>/x.html#name`) point into this site, and
    relative links between notebooks (`pacs.ipynb`, `../12_pipeline.ipynb#x`) to their pages, as Quarto does."""
    if doc_url: body = body.replace(f'href="{doc_url}', f'href="{up}')
    def page(m):
        folder, name = posixpath.split(m.group(1) + '.ipynb')
        return f'href="{posixpath.join(folder, page_name(Path(name)))}{m.group(2) or ""}"'
    return re.sub(r'href="((?![a-z][a-z0-9+.-]*:)[^"#:]+)\.ipynb(#[^"]*)?"', page, body)

def _anchors(body:str)->str:
    "Add lower-case anchors next to headings whose id has capitals: nbdev's links use `#stylerecorder`-style fragments."
    def add(m):
        i = m.group(2)
        return m.group(0) if i == i.lower() else f'<span id="{i.lower()}" class="ddg-anchor"></span>{m.group(0)}'
    return re.sub(r'<h([1-6])[^>]*\bid="([^"]+)"', add, body)

def _ids(page:str)->set:
    return set(re.findall(r'\bid="([^"]+)"', page))

def _fix_symbol_links(pages:dict)->dict:
    """nbdev links every backticked name it knows (`_scan`, `RelabelCache.batch`) to `page.html#name`, but only names with
    a `show_doc` have an anchor there: point such a link at the enclosing class's anchor, or else drop the link."""
    ids = {name: _ids(body) for name, body in pages.items()}
    def fix(name, m):
        href, text = m.group(1), m.group(2)
        path, _, frag = href.partition('#')
        if not frag or '://' in path: return m.group(0)
        target = posixpath.normpath(posixpath.join(posixpath.dirname(name), path)) if path else name
        if target not in ids or frag in ids[target]: return m.group(0)
        parent = frag.rpartition('.')[0]
        if parent and parent in ids[target]: return f'<a href="{path}#{parent}"><code>{text}</code></a>'
        return f'<code>{text}</code>'
    return {name: re.sub(r'<a href="([^"]+)"><code>(.*?)</code></a>', lambda m, n=name: fix(n, m), body) for name, body in pages.items()}

def render_site(pages:list, out:Path, katex:bool, doc_url:str):
    "Write every page's HTML to `out`."
    import nbformat
    exporter, html_pages = _exporter(), {}
    for i, p in enumerate(pages):
        up = '../'*p['name'].count('/')
        nb = nbformat.from_dict(dict(nbformat=4, nbformat_minor=5, cells=_page_cells(p['cells']),
                                     metadata=dict(kernelspec=dict(name='python3', display_name='Python 3', language='python'),
                                                   language_info=dict(name='python'))))
        for j, c in enumerate(nb.cells): c['id'] = f'c{j}'
        prev_, next_ = (pages[i-1] if i else None), (pages[i+1] if i + 1 < len(pages) else None)
        res = dict(metadata=dict(name=p['title']), ddg=dict(
            root=up, title=p['title'], description=_inline_code(p['description']), katex=katex, nav=_nav(pages, p['name']),
            contents=_contents(pages) if p['name'] == 'index.html' else '', project=p['project'],
            prev=dict(href=up + prev_['name'], title=prev_['title']) if prev_ else None,
            next=dict(href=up + next_['name'], title=next_['title']) if next_ else None,
            source=p['source']))
        body, _ = exporter.from_notebook_node(nb, resources=res)
        html_pages[p['name']] = _anchors(_fix_links(body, doc_url, up))
    for name, body in _fix_symbol_links(html_pages).items():
        dest = out/name; dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(body, encoding='utf-8')

def copy_static(out:Path, katex_dir:Path|None)->bool:
    "The site's stylesheets (its own and JupyterLab's from nbconvert) and, when found, KaTeX (script, auto-render, stylesheet, fonts); True when KaTeX is there."
    static = out/'_static'; static.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(TEMPLATES/'site.css', static/'site.css')
    lab = next(Path(d)/'nbconvert'/'templates'/'lab'/'static' for d in jupyter_path() if (Path(d)/'nbconvert'/'templates'/'lab'/'static'/'index.css').exists())
    (static/'jupyterlab.css').write_text('\n'.join((lab/f).read_text(encoding='utf-8') for f in ('index.css', 'theme-light.css')), encoding='utf-8')
    dirs = [katex_dir] if katex_dir else KATEX_DIRS
    src = next((d for d in dirs if d and (d/'katex.min.js').exists() and (d/'katex.min.css').exists()), None)
    if src is None:
        print('warning: KaTeX not found (apt-get install libjs-katex, or npm install katex): LaTeX is left as text', file=sys.stderr)
        return False
    auto = next((src/'contrib'/n for n in ('auto-render.min.js', 'auto-render.js') if (src/'contrib'/n).exists()), None)
    if auto is None:
        print(f'warning: {src} has no contrib/auto-render: LaTeX is left as text', file=sys.stderr); return False
    k = static/'katex'; (k/'fonts').mkdir(parents=True, exist_ok=True)
    for f in ('katex.min.js', 'katex.min.css'): shutil.copyfile(src/f, k/f)
    shutil.copyfile(auto, k/'auto-render.min.js')
    for f in (src/'fonts').glob('*.woff2'): shutil.copyfile(f, k/'fonts'/f.name)
    css = (k/'katex.min.css').read_text()
    # only the woff2 fonts are copied (every browser that runs KaTeX reads them); drop the other formats from the CSS
    (k/'katex.min.css').write_text(re.sub(r',\s*url\([^)]*\.(?:woff|ttf)\)\s*format\("(?:woff|truetype)"\)', '', css))
    return True

# ---- the command ---------------------------------------------------------------------------------------------------

def build(out:str|Path='_site', jobs:int=1, katex:str|None=None, nbs:list|None=None, root:Path=ROOT)->dict:
    "Execute and render every notebook into `out`; returns the build record (also written to `out/build.json`)."
    t0 = time.time()
    root, out = Path(root).resolve(), Path(out).resolve()
    cfg = _settings(root)
    skip = [f for f in cfg.get('tst_flags', '').split('|') if f]
    force = os.environ.get('DDG_TEST_FLAGS', '').split()
    rels = notebooks(root/'nbs')
    if nbs: rels = [r for r in rels if r.as_posix() in nbs or r.stem in nbs or page_name(r) in nbs]
    os.environ.setdefault('OMP_NUM_THREADS', '1'); os.environ.setdefault('MPLBACKEND', 'Agg')
    with tempfile.TemporaryDirectory(prefix='ddg_docs_') as tmp:
        proj = Path(tmp)/'project' # no ../shared next to it: the real PACS is out of reach
        shutil.copytree(root, proj, ignore=_copy_ignore(root))
        args = [(str(proj/'nbs'/r), skip, force, str(proj)) for r in rels]
        cwd = os.getcwd(); os.chdir(proj)
        try:
            with ProcessPoolExecutor(max_workers=max(1, jobs), mp_context=mp.get_context('spawn'), max_tasks_per_child=1) as ex:
                # the largest notebooks (the longest runs) start first, so that with several jobs none is left alone at the end
                first = sorted(range(len(rels)), key=lambda i: -(root/'nbs'/rels[i]).stat().st_size)
                futures = {i: ex.submit(_worker, args[i]) for i in first}
                results = []
                for i, r in enumerate(rels):
                    res = futures[i].result()
                    if 'error' in res:
                        for f in futures.values(): f.cancel()
                        raise SystemExit(f'docs build failed in {r}:\n{res["error"]}')
                    print(f'  {r.as_posix():32s} {res["seconds"]["execute"]:6.1f} s run, {res["seconds"]["total"]:6.1f} s with API docs'
                          + (f', {res["skipped"]} cell(s) skipped (slow/gpu)' if res['skipped'] else ''), flush=True)
                    results.append(res)
        finally: os.chdir(cwd)
    t_exec = time.time() - t0
    pages = []
    for r, res in zip(rels, results):
        fm = res['frontmatter']
        pages.append(dict(name=page_name(r), source=f'nbs/{r.as_posix()}', cells=res['cells'], project=cfg.get('lib_name', 'docs'),
                          title=fm.get('title') or r.stem, description=fm.get('description', '')))
    if out.exists(): shutil.rmtree(out)
    out.mkdir(parents=True)
    has_katex = copy_static(out, Path(katex) if katex else None)
    doc_url = cfg.get('doc_host', '').replace('%(user)s', cfg.get('user', '')) + cfg.get('doc_baseurl', '').replace('%(repo)s', cfg.get('repo', '')) + '/'
    render_site(pages, out, has_katex, doc_url if doc_url.startswith('http') else '')
    record = dict(seconds=round(time.time() - t0, 1), execute_seconds=round(t_exec, 1), jobs=jobs, katex=has_katex,
                  pages={p['name']: dict(source=p['source'], **res['seconds'], skipped=res['skipped']) for p, res in zip(pages, results)})
    (out/'build.json').write_text(json.dumps(record, indent=1))
    return record

@call_parse
def main(out:str='_site', # output folder (replaced)
         jobs:int=1, # notebooks executed at once (each in its own process with one thread)
         katex:str=None, # a KaTeX dist folder (default: Debian's libjs-katex, else node_modules/katex/dist)
         only:str=None): # comma-separated notebooks to build alone (file name, stem or page name), for trying a change
    "Build the docs site from the notebooks without Quarto: execute, process with nbdev, render with nbconvert."
    print(f'building the docs from {ROOT/"nbs"} into {out} ({jobs} job(s))', flush=True)
    rec = build(out, jobs, katex, [o.strip() for o in only.split(',')] if only else None)
    print(f'built {len(rec["pages"])} pages into {out} in {rec["seconds"]:.1f} s '
          f'(executing notebooks {rec["execute_seconds"]:.1f} s; math: {"KaTeX" if rec["katex"] else "LaTeX as text"})')
