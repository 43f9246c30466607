"""Check a built docs site in a real browser: `python tools/check_docs.py _site [--shots _site_shots]`.

Serves the folder on 127.0.0.1 (http.server in a thread) and opens every page in headless Chromium through
playwright, using the system's Chromium (Debian: `apt-get install chromium`; playwright's own browser download is not
used). Fails on: an image that does not load, an internal link to a missing page or anchor, any request to a host other
than 127.0.0.1 (such requests are also blocked), a failed or 4xx/5xx request, a console error or uncaught exception, a
KaTeX error, and a scrubber (`ddg_nb.widgets.scrubber_html`) whose `#<prefix>-image` src does not change when its
`#<prefix>-lambda` slider is moved with the keyboard, and an explorer control (`data-ddg-drives="<id>"`,
`ddg_nb.explorers`) whose target does not change when it is moved (a range with the keyboard, a select to its other
options). Saves a screenshot of every page (and of every scrubber before
and after the move) in the shots folder. Prints one line per page and exits non-zero on any failure.
"""
from __future__ import annotations
import sys, json, shutil, threading, functools
from fastcore.script import call_parse
from html.parser import HTMLParser
from http.server import ThreadingHTTPServer, SimpleHTTPRequestHandler
from pathlib import Path
from urllib.parse import urlsplit, unquote

class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args): pass

def serve(folder:Path)->tuple:
    "Serve `folder` on 127.0.0.1 on a free port in a daemon thread; returns (server, base url)."
    httpd = ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(_Quiet, directory=str(folder)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f'http://127.0.0.1:{httpd.server_address[1]}/'

class _Ids(HTMLParser):
    def __init__(self, text):
        super().__init__(); self.ids = set(); self.feed(text)
    def handle_starttag(self, tag, attrs):
        for k, v in attrs:
            if k in ('id', 'name') and v: self.ids.add(v)

def _ids(path:Path, cache={})->set:
    if path not in cache: cache[path] = _Ids(path.read_text(encoding='utf-8', errors='replace')).ids
    return cache[path]

def _target(site:Path, path:str)->Path:
    p = site/unquote(path).lstrip('/')
    return p/'index.html' if p.is_dir() or path.endswith('/') else p

_PAGE_INFO = """() => ({
  images: [...document.images].map(i => ({src: i.currentSrc || i.src, ok: i.complete && i.naturalWidth > 0})),
  links: [...document.querySelectorAll('a[href]')].map(a => a.href),
  katex: document.querySelectorAll('.katex').length,
  katexErrors: [...document.querySelectorAll('.katex-error')].map(e => e.textContent.slice(0, 80)),
  scrubbers: [...document.querySelectorAll('input[type=range][id$="-lambda"]')].map(e => e.id.slice(0, -'-lambda'.length)),
  controls: [...document.querySelectorAll('[data-ddg-drives]')].map(e => ({id: e.id, target: e.dataset.ddgDrives,
    tag: e.tagName.toLowerCase(), options: e.tagName === 'SELECT' ? [...e.options].map(o => o.value) : []}))
})"""

# true once every <img> has finished (loaded or failed); a page's images may be lazy, so they are made eager first
_IMAGES_DONE = """() => { const imgs = [...document.images]; imgs.forEach(i => { if (i.loading === 'lazy') i.loading = 'eager'; });
  return document.readyState === 'complete' && imgs.every(i => i.complete); }"""

def _watch(page, errs:list):
    "Record on `page` into `errs`: requests to other hosts, failed or 4xx/5xx requests, console errors, uncaught exceptions."
    def on_request(req):
        u = urlsplit(req.url)
        if u.scheme not in ('data', 'blob', 'about') and u.hostname != '127.0.0.1': errs.append(f'request to another host: {req.url[:120]}')
    page.on('request', on_request)
    page.on('requestfailed', lambda req: errs.append(f'request failed: {req.url[:120]} ({req.failure})')
            if urlsplit(req.url).hostname == '127.0.0.1' else None)
    page.on('response', lambda res: errs.append(f'HTTP {res.status}: {res.url[:120]}') if res.status >= 400 else None)
    page.on('console', lambda msg: errs.append(f'console {msg.type}: {msg.text[:200]}') if msg.type == 'error' else None)
    page.on('pageerror', lambda exc: errs.append(f'uncaught exception: {str(exc)[:200]}'))

def _state(page, target:str)->str:
    "What the element `target` shows: an image's src, else its HTML."
    return page.evaluate("id => { const e = document.getElementById(id); return e ? (e.tagName === 'IMG' ? e.src : "
                         "e.innerHTML) : null; }", target)

def _check_control(page, c:dict)->str|None:
    """Move the explorer control `c` (a range: End, Home; a select: its other options, at most three) and return an
    error unless its `data-ddg-drives` target changed."""
    el = page.locator(f"#{c['id']}")
    if _state(page, c['target']) is None: return f"control #{c['id']}: no #{c['target']}"
    el.scroll_into_view_if_needed(); states = [_state(page, c['target'])]
    if c['tag'] == 'select':
        first = el.input_value()
        for v in [o for o in c['options'] if o != first][:3]: el.select_option(v); states.append(_state(page, c['target']))
        el.select_option(first)
    else:
        for key in ('End', 'Home'): el.focus(); el.press(key); states.append(_state(page, c['target']))
    if len(set(states)) < 2: return f"control #{c['id']}: #{c['target']} did not change when it moved"

def check_site(site:str|Path, shots:str|Path|None=None, min_scrubbers:int=1, width:int=1280, height:int=900,
               min_controls:int=0)->dict:
    "Open every page of `site`; returns a report with `failures` (a list of strings) and per-page details."
    from playwright.sync_api import sync_playwright, TimeoutError as PlaywrightTimeout
    site = Path(site).resolve()
    pages = sorted(p.relative_to(site).as_posix() for p in site.rglob('*.html'))
    if not pages: raise SystemExit(f'no HTML pages in {site}')
    shots = Path(shots) if shots else site.parent/(site.name + '_shots')
    shutil.rmtree(shots, ignore_errors=True); shots.mkdir(parents=True)
    exe = shutil.which('chromium') or shutil.which('chromium-browser')
    if exe is None: raise SystemExit('no system chromium on PATH (Debian: apt-get install -y chromium)')
    httpd, base = serve(site)
    failures, report, n_scrubbers, n_controls = [], {}, 0, 0
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=exe, headless=True, args=['--no-sandbox'])
            ctx = browser.new_context(viewport=dict(width=width, height=height), service_workers='block')
            def route(r):
                u = urlsplit(r.request.url)
                if u.scheme in ('data', 'blob', 'about') or u.hostname == '127.0.0.1': r.continue_()
                else: r.abort()
            ctx.route('**/*', route)
            for name in pages:
                errs = []
                page = ctx.new_page(); _watch(page, errs)
                # 'load' means every image, stylesheet and script of the page has arrived (KaTeX's deferred scripts run
                # before it). No 'networkidle' wait: it needs 500 ms with no request in flight, and on a loaded CI machine
                # it once never came (120 s timeout after a successful load). A page that does not load is retried once.
                try: page.goto(base + name, wait_until='load', timeout=120_000)
                except PlaywrightTimeout:
                    page.close(); errs.clear(); page = ctx.new_page(); _watch(page, errs)
                    try: page.goto(base + name, wait_until='load', timeout=120_000)
                    except PlaywrightTimeout:
                        failures.append(f'{name}: did not load within 120 s, twice'); page.close(); continue
                page.wait_for_function(_IMAGES_DONE, timeout=60_000)
                info = page.evaluate(_PAGE_INFO)
                bad_imgs = [i['src'][:80] for i in info['images'] if not i['ok']]
                errs += [f'broken image: {s}' for s in bad_imgs]
                errs += [f'KaTeX error: {e}' for e in info['katexErrors']]
                n_internal = 0
                for href in info['links']:
                    u = urlsplit(href)
                    if u.hostname != '127.0.0.1' or u.scheme not in ('http', 'https'): continue
                    n_internal += 1
                    t = _target(site, u.path)
                    if not t.is_file(): errs.append(f'broken link: {href[len(base) - 1:]} (no {t.relative_to(site)})')
                    elif u.fragment and t.suffix == '.html' and not {u.fragment, unquote(u.fragment)} & _ids(t): # browsers try both
                        errs.append(f'broken anchor: {href[len(base) - 1:]}')
                shot = shots/(name.replace('/', '__').removesuffix('.html') + '.png')
                page.screenshot(path=str(shot))
                moved = []
                for p in info['scrubbers']:
                    n_scrubbers += 1
                    img, slider = page.locator(f'#{p}-image'), page.locator(f'#{p}-lambda')
                    if img.count() != 1: errs.append(f'scrubber {p}: no #{p}-image'); continue
                    slider.scroll_into_view_if_needed()
                    box = page.locator(f'#{p}-scrubber') if page.locator(f'#{p}-scrubber').count() else slider
                    box.screenshot(path=str(shots/f'{shot.stem}__{p}-before.png'))
                    srcs = [img.get_attribute('src')]
                    for key in ('End', 'Home'):
                        slider.focus(); slider.press(key); srcs.append(img.get_attribute('src'))
                    box.screenshot(path=str(shots/f'{shot.stem}__{p}-after.png'))
                    value = slider.input_value()
                    if len(set(srcs)) < 3: errs.append(f'scrubber {p}: #{p}-image src did not change when #{p}-lambda moved (distinct srcs: {len(set(srcs))} of 3)')
                    moved.append(dict(prefix=p, distinct_srcs=len(set(srcs)), final_lambda=value))
                for c in info['controls']: # the explorers' controls (`ddg_nb.explorers`)
                    n_controls += 1
                    if err := _check_control(page, c): errs.append(err)
                report[name] = dict(images=len(info['images']), internal_links=n_internal, math=info['katex'],
                                    scrubbers=moved, controls=len(info['controls']), errors=errs, screenshot=str(shot))
                failures += [f'{name}: {e}' for e in errs]
                print(f'{"FAIL" if errs else "ok  "} {name:28s} {len(info["images"]):3d} images, {n_internal:3d} internal links, '
                      f'{info["katex"]:3d} math, {len(moved)} scrubber(s), {len(info["controls"])} control(s)' + ''.join(f'\n     {e}' for e in errs), flush=True)
                page.close()
            browser.close()
    finally:
        httpd.shutdown(); httpd.server_close()
    if n_scrubbers < min_scrubbers: failures.append(f'expected at least {min_scrubbers} scrubber(s) in the site, found {n_scrubbers}')
    if n_controls < min_controls: failures.append(f'expected at least {min_controls} explorer control(s), found {n_controls}')
    return dict(failures=failures, pages=report, shots=str(shots), scrubbers=n_scrubbers, controls=n_controls)

@call_parse
def main(site:str, # the built site folder (tools/build_docs.py --out)
         shots:str=None, # screenshot folder (default: <site>_shots next to the site)
         min_scrubbers:int=1, # fail when the site has fewer scrubbers
         min_controls:int=0): # fail when the site has fewer explorer controls
    "Open every page of a built docs site in headless Chromium and fail on anything broken."
    rep = check_site(site, shots, min_scrubbers, min_controls=min_controls)
    (Path(rep['shots'])/'report.json').write_text(json.dumps(rep, indent=1))
    bad = sum(bool(p['errors']) for p in rep['pages'].values())
    print(f'{len(rep["pages"]) - bad} pages passed, {bad} failed ({rep["scrubbers"]} scrubber(s), {rep["controls"]} explorer control(s)); screenshots in {rep["shots"]}')
    for f in rep['failures']: print('FAILED', f)
    if rep['failures']: sys.exit(1)
