"""Are StyleShapes' pixels the same under each of numpy's SIMD levels? Generates the set once per level (numpy's
`NPY_DISABLE_CPU_FEATURES`, in a fresh process each) and prints each `pixel_digest` and how many images differ from
the first level's.

    python tools/styleshapes_digest.py [--n_per_class 300] [--size 64]
"""
import argparse, json, os, subprocess, sys, tempfile
from pathlib import Path

LEVELS = {'AVX-512': '', 'AVX2': 'X86_V4 AVX512_ICL AVX512_SPR', 'SSE4.2': 'X86_V3 X86_V4 AVX512_ICL AVX512_SPR'}
CHILD = '''import sys, json, hashlib, numpy as np; from PIL import Image
from ddg_nb.styleshapes import make_styleshapes, pixel_digest
out = make_styleshapes(sys.argv[1], n_per_class=int(sys.argv[2]), size=int(sys.argv[3]), n_workers=2)
per = {str(f.relative_to(out)): hashlib.sha256(np.asarray(Image.open(f).convert('RGB')).tobytes()).hexdigest()
       for f in sorted(out.rglob('*.png'))}
print(json.dumps(dict(digest=pixel_digest(out), images=per)))'''

def main(n:int, size:int):
    got = {}
    for level, off in LEVELS.items():
        env = dict(os.environ, NPY_DISABLE_CPU_FEATURES=off) if off else dict(os.environ)
        with tempfile.TemporaryDirectory() as d:
            r = subprocess.run([sys.executable, '-c', CHILD, d, str(n), str(size)], env=env, capture_output=True,
                               text=True, check=True)
        got[level] = json.loads(r.stdout.strip().splitlines()[-1])
    first = next(iter(got.values()))['images']
    for level, g in got.items():
        diff = [k for k in first if g['images'][k] != first[k]]
        print(f'{level:8s} {g["digest"]}  {len(diff)} of {len(first)} images differ from the first', diff[:4])

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--n_per_class', type=int, default=300); p.add_argument('--size', type=int, default=64)
    a = p.parse_args(); main(a.n_per_class, a.size)
