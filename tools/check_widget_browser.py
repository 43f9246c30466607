"""Check the live `ddg_nb.widgets.TransferExplorer` in a real browser: `python tools/check_widget_browser.py --shots DIR`.

Trains a tiny DTL run (the StyleShapes setup of nbs/14_widgets.ipynb, a few seconds on one core), saves it with
`save_dtl`, writes a one-cell notebook `TransferExplorer(load_dtl(PATH))`, serves it with Voilà on 127.0.0.1 (a free
port, no token, no browser; a real ipykernel runs the cell) and opens it in headless Chromium through playwright, using
the system's Chromium (Debian: `apt-get install chromium`; playwright's own browser download is not used). Then it
focuses the λ slider's handle (ipywidgets' noUiSlider) and presses End, Home and ArrowRight ×4, and after every move
waits until the mixed image (the third `<img>` of the widget, λ·e + (1−λ)·e') shows new PNG bytes, its caption the new
λ and the slider's readout the new value: each change is a round trip browser → kernel (psi recomputed) → browser.

Voilà serves the widget manager and the ipywidgets controls itself (voila/static, bundled with
@jupyter-widgets/jupyterlab-manager), so no widget JavaScript comes from a CDN. The only requests to other hosts are
the lab template's Font Awesome stylesheets (icons only); every request that leaves 127.0.0.1 is blocked and listed,
and any other than those fails the check, as does a console error, an error output in the page, or an image that does
not change. Screenshots of the page and the widget before and after each move go to --shots. Exits non-zero on any
failure; the Voilà server (and its kernel) is always shut down.
"""
from __future__ import annotations
import os, sys, json, time, shutil, signal, socket, tempfile, subprocess, urllib.request
from pathlib import Path
from urllib.parse import urlsplit
from fastcore.script import call_parse

# Stylesheets the Voilà lab template links from a CDN: icons only, not needed by the widgets (blocked, not failed).
ALLOWED_EXTERNAL = ('https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@', 'https://cdn.jsdelivr.net/npm/font-awesome@')

# The lab extensions Voilà may load: its own ipywidgets 8 manager (share/jupyter/voila/labextensions) and the
# ipywidgets one. Others installed on the machine (e.g. jupytext's, which needs JupyterLab's @jupyterlab/docmanager and
# throws a module-federation error in Voilà) are kept out, so the check sees the widgets alone.
LAB_EXTENSIONS = ('@voila-dashboards/widgets-manager8', '@jupyter-widgets/jupyterlab-manager')

def build_result(out_dir:Path, iterations:int=30)->Path:
    "Train the tiny DTL run of nbs/14_widgets.ipynb (StyleShapes, small_cnn teacher, ipc 2) and `save_dtl` it to `out_dir`."
    import numpy as np, torch, torch.nn.functional as F
    from ddg_nb.styleshapes import draw_styleshape, DOMAINS
    from ddg_nb.models import create_model, model_mean_std
    from ddg_nb.style import domain_styles
    from ddg_nb.dtl import train_dtl, save_dtl
    torch.set_num_threads(1)
    classes, seen = ['circle', 'star', 'triangle'], ['art_painting', 'cartoon', 'photo']
    def draw(d, k, i):
        im = draw_styleshape(d, classes[k], np.random.default_rng([DOMAINS.index(d), k, i]), size=32)
        return torch.from_numpy(im.copy()).permute(2, 0, 1).float() / 255
    torch.manual_seed(0)
    teacher = create_model('small_cnn', len(classes), widths=(8, 16, 16, 32))
    mean, std = model_mean_std(teacher)
    norm = lambda x: (x - torch.tensor(mean).view(3, 1, 1)) / torch.tensor(std).view(3, 1, 1)
    real = {d: norm(torch.stack([draw(d, k, i) for k in range(3) for i in range(4)])) for d in seen}
    y = torch.arange(3).repeat_interleave(4)
    opt = torch.optim.Adam(teacher.parameters(), lr=1e-2)
    xa, ya = torch.cat(list(real.values())), y.repeat(len(seen))
    for _ in range(60):
        loss = F.cross_entropy(teacher(xa), ya); opt.zero_grad(); loss.backward(); opt.step()
    teacher.eval()
    styles = domain_styles(teacher, {d: torch.utils.data.TensorDataset(x, y) for d, x in real.items()}, progress=False)
    init = torch.stack([real[seen[j]][4*k + j] for k in range(3) for j in range(2)])
    r = train_dtl(teacher, styles, n_classes=3, ipc=2, init=init, batch_size=2, iterations=iterations, steps_per_visit=10,
                  log_every=5, transfer_width=8, transfer_residual=1, lr_transfer=1e-2, lr_theta=3e-2, progress=False)
    save_dtl(r, out_dir)
    return Path(out_dir)

def write_notebook(path:Path, dtl_dir:Path)->Path:
    "A one-cell notebook that shows `TransferExplorer(load_dtl(dtl_dir))`."
    import nbformat
    src = (f"from ddg_nb.dtl import load_dtl\nfrom ddg_nb.widgets import TransferExplorer\n"
           f"TransferExplorer(load_dtl({str(dtl_dir)!r}))")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src)])
    nb.metadata['kernelspec'] = dict(name='python3', display_name='Python 3', language='python')
    nbformat.write(nb, str(path))
    return Path(path)

def free_port()->int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def start_voila(nb:Path, log:Path, timeout:float=120)->tuple:
    "Start Voilà on `nb` (127.0.0.1, a free port, no token, no browser); returns (process, url) once it answers."
    port = free_port()
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')
    cmd = [sys.executable, '-m', 'voila', nb.name, f'--port={port}', '--Voila.ip=127.0.0.1', '--Voila.port_retries=0',
           '--no-browser', '--Voila.token=', '--show_tracebacks=True', f'--VoilaConfiguration.extension_allowlist={list(LAB_EXTENSIONS)!r}']
    proc = subprocess.Popen(cmd, cwd=nb.parent, env=env, stdout=open(log, 'wb'), stderr=subprocess.STDOUT, start_new_session=True)
    url, t0 = f'http://127.0.0.1:{port}/', time.time()
    while True:
        if proc.poll() is not None: raise RuntimeError(f'voila exited with {proc.returncode}:\n{log.read_text()[-3000:]}')
        try:
            with socket.create_connection(('127.0.0.1', port), timeout=1): return proc, url
        except OSError: pass
        if time.time() - t0 > timeout: raise RuntimeError(f'voila did not listen on {port} within {timeout} s')
        time.sleep(0.3)

def stop(proc:subprocess.Popen):
    "Stop the Voilà server and everything it started (its own process group: the kernel too)."
    if proc.poll() is None:
        try: os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError: return
        try: proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL); proc.wait(5)
    else:  # the server is gone; make sure no kernel of its group is left
        try: os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError): pass

# The state of the explorer in the page: the λ readout, the mix caption, and the bytes of each panel's image.
_STATE = """async () => {
  const imgs = [...document.querySelectorAll('img.widget-image')];
  const digest = async (img) => {
    if (!img.src) return null;
    const buf = await (await fetch(img.src)).arrayBuffer();
    const h = await crypto.subtle.digest('SHA-256', buf);
    return [...new Uint8Array(h)].slice(0, 8).map(b => b.toString(16).padStart(2, '0')).join('') + ':' + buf.byteLength;
  };
  const slider = [...document.querySelectorAll('.widget-slider')].find(s => (s.querySelector('.widget-label') || {}).textContent === 'λ');
  const caps = [...document.querySelectorAll('.widget-html-content small')].map(e => e.textContent);
  return {n_images: imgs.length, srcs: imgs.map(i => i.src.slice(0, 60)), digests: await Promise.all(imgs.map(digest)),
          loaded: imgs.map(i => i.complete && i.naturalWidth > 0), captions: caps,
          readout: slider ? (slider.querySelector('.widget-readout') || {}).textContent : null,
          aria: slider ? (slider.querySelector('.noUi-handle') || {getAttribute: () => null}).getAttribute('aria-valuenow') : null};
}"""

MIX = 2  # panels: S, psi(S; theta_e'), the mix, psi(S; theta_e)

def check_widget(url:str, shots:Path, timeout:float=180, width:int=1100, height:int=600)->dict:
    "Open the Voilà page, move the λ slider with the keyboard and check the mixed image follows; returns a report."
    from playwright.sync_api import sync_playwright
    exe = shutil.which('chromium') or shutil.which('chromium-browser')
    if exe is None: raise SystemExit('no system chromium on PATH (Debian: apt-get install -y chromium)')
    errs, external, steps, loaded = [], [], [], []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, headless=True, args=['--no-sandbox'])
        try:
            ctx = browser.new_context(viewport=dict(width=width, height=height), service_workers='block')
            def route(r):
                u = urlsplit(r.request.url)
                if u.scheme in ('data', 'blob', 'about') or u.hostname == '127.0.0.1': r.continue_()
                else:
                    external.append(r.request.url)
                    r.abort()
            ctx.route('**/*', route)
            page = ctx.new_page()
            page.on('request', lambda r: loaded.append(urlsplit(r.url).path) if 'remoteEntry' in r.url else None)
            page.on('console', lambda m: errs.append(f'console error: {m.text[:300]}')
                    if m.type == 'error' and 'net::ERR_FAILED' not in m.text else None)  # ERR_FAILED: the blocked CDN CSS
            page.on('pageerror', lambda e: errs.append(f'uncaught exception: {str(e)[:300]}'))
            page.on('response', lambda r: errs.append(f'HTTP {r.status}: {r.url[:120]}') if r.status >= 400 else None)
            t0 = time.time()
            page.goto(url, wait_until='load', timeout=timeout*1000)
            handle = page.locator('.widget-slider .noUi-handle')
            try: page.wait_for_function("document.querySelectorAll('img.widget-image').length >= 4 && "
                                        "[...document.querySelectorAll('img.widget-image')].every(i => i.complete && i.naturalWidth > 0)",
                                        timeout=timeout*1000)
            except Exception as e:
                page.screenshot(path=str(shots/'page-timeout.png'), full_page=True)
                outs = page.locator('.jp-OutputArea-output').all_inner_texts()
                raise RuntimeError(f'the widget did not render within {timeout} s; outputs: {outs!r}; console: {errs}') from e
            t_render = time.time() - t0
            widget = page.locator('.widget-vbox').filter(has=page.locator('img.widget-image')).first
            lam = page.locator('.widget-slider').filter(has_text='λ').first
            st = page.evaluate(_STATE)
            page.screenshot(path=str(shots/'page-before.png'), full_page=True)
            widget.screenshot(path=str(shots/'widget-0-before.png'))
            steps.append(dict(key=None, **st))
            if st['n_images'] != 4: errs.append(f'expected 4 images in the explorer, found {st["n_images"]}')
            moves = [('End', '1.00'), ('Home', '0.00'), ('ArrowRight', '0.20')]
            for n, (key, want) in enumerate(moves, 1):
                h = lam.locator('.noUi-handle')
                h.focus()
                for _ in range(4 if key == 'ArrowRight' else 1): h.press(key)
                prev, t1 = steps[-1], time.time()
                while True:  # the kernel answers: new PNG for the mix, a new caption
                    st = page.evaluate(_STATE)
                    if st['digests'][MIX] != prev['digests'][MIX] and st['captions'][MIX].startswith(want): break
                    if time.time() - t1 > 30: break
                    time.sleep(0.2)
                st['seconds'] = round(time.time() - t1, 2)
                steps.append(dict(key=key, **st))
                widget.screenshot(path=str(shots/f'widget-{n}-after-{key}.png'))
                if st['digests'][MIX] == prev['digests'][MIX]: errs.append(f'{key}: the mixed image did not change within 30 s')
                if not st['captions'][MIX].startswith(want): errs.append(f'{key}: mix caption {st["captions"][MIX]!r}, expected λ = {want}')
                if st['readout'] != want: errs.append(f'{key}: slider readout {st["readout"]!r}, expected {want}')
                if st['digests'][1] != prev['digests'][1] or st['digests'][3] != prev['digests'][3]:
                    errs.append(f'{key}: the pure-domain panels changed, but only λ moved')
            page.screenshot(path=str(shots/'page-after.png'), full_page=True)
            mixes = [s['digests'][MIX] for s in steps]
            if len(set(mixes)) != len(mixes): errs.append(f'the mixed image is not different at each λ: {mixes}')
            # λ = 1 shows psi(S; theta_e) and λ = 0 psi(S; theta_e'): the mix panel must equal those panels' bytes then
            if steps[1]['digests'][MIX] != steps[1]['digests'][3]: errs.append('at λ = 1 the mix differs from ψ(S; θ_e)')
            if steps[2]['digests'][MIX] != steps[2]['digests'][1]: errs.append("at λ = 0 the mix differs from ψ(S; θ_e')")
        finally:
            browser.close()
    bad_ext = [u for u in external if not u.startswith(ALLOWED_EXTERNAL)]
    errs += [f'request to another host (blocked): {u[:120]}' for u in bad_ext]
    return dict(failures=errs, external_blocked=external, lab_extensions_loaded=loaded, render_seconds=round(t_render, 1), steps=steps, shots=str(shots))

def run(shots:str|Path, iterations:int=30, keep:bool=False)->dict:
    "Build the tiny run, serve the notebook with Voilà, check it in Chromium; the server is always stopped."
    shots = Path(shots); shutil.rmtree(shots, ignore_errors=True); shots.mkdir(parents=True)
    tmp = Path(tempfile.mkdtemp(prefix='ddg_widget_'))
    proc, t0 = None, time.time()
    try:
        build_result(tmp/'dtl', iterations)
        t_build = time.time() - t0
        nb = write_notebook(tmp/'explorer.ipynb', tmp/'dtl')
        proc, url = start_voila(nb, shots/'voila.log')
        rep = check_widget(url, shots)  # Voila serving one notebook renders it at /
        rep['build_seconds'] = round(t_build, 1)
    finally:
        if proc is not None: stop(proc)
        if not keep: shutil.rmtree(tmp, ignore_errors=True)
    rep['seconds'] = round(time.time() - t0, 1)
    (shots/'report.json').write_text(json.dumps(rep, indent=1))
    return rep

@call_parse
def main(shots:str=None, # screenshot folder, made anew (default: ddg_widget_shots in the temp folder)
         iterations:int=30, # DTL iterations of the tiny run
         keep:bool=False): # keep the temporary run and notebook
    "Check the live TransferExplorer widget in headless Chromium through Voilà."
    rep = run(shots or Path(tempfile.gettempdir())/'ddg_widget_shots', iterations, keep)
    for s in rep['steps']:
        print(f"{s['key'] or 'start':10s} readout {s['readout']}  mix caption {s['captions'][MIX]!r:40s} mix png {s['digests'][MIX]}"
              + (f"  ({s['seconds']} s)" if 'seconds' in s else ''))
    print('lab extensions loaded:', *rep['lab_extensions_loaded'], sep='\n  ')
    if rep['external_blocked']: print('blocked requests to other hosts:', *rep['external_blocked'], sep='\n  ')
    print(f"tiny DTL run {rep['build_seconds']} s, widget rendered {rep['render_seconds']} s after opening, total {rep['seconds']} s; "
          f"screenshots in {rep['shots']}")
    for f in rep['failures']: print('FAILED', f)
    print('FAIL' if rep['failures'] else 'ok')
    if rep['failures']: sys.exit(1)
