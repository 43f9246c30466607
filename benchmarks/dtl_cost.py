"""Cost curves of DTL: one step against the number of seen domains E (1-5) and the batch size B, and a whole recover
against IPC, measured side by side in one run with the library's own `DTL` and `train_dtl`; plotted, and written as
JSON. A DTL step's unavoidable work is a teacher pass over (1+E)*B images and psi over E*B copies, so the step time
should be close to linear in (1+E)*B; the script prints where it is not.

    python benchmarks/dtl_cost.py --out benchmarks/results   # CPU: EfficientNet-Lite0 at 32 px, psi 16/2 (cpu preset)
    python benchmarks/dtl_cost.py --device cuda --size 224 --teacher resnet18 --width 32 --residual 5   # the paper"""
import argparse, json, time
from pathlib import Path
import numpy as np, torch
from ddg_nb.models import create_model
from ddg_nb.style import Style, StyleRecorder
from ddg_nb.dtl import DTL, DTLConfig, visit_schedule, train_dtl, _frozen

K = 7

def _sync(dev):
    if dev.type == 'cuda': torch.cuda.synchronize(dev)

def median_time(f, reps, dev):
    f(); _sync(dev); ts = []
    for _ in range(reps):
        t = time.perf_counter(); f(); _sync(dev); ts.append(time.perf_counter() - t)
    return float(np.median(ts))

def fake_styles(teacher, E, size, dev):
    with torch.no_grad(), StyleRecorder(teacher) as rec:
        teacher(torch.randn(4, 3, size, size, device=dev)); st = rec.styles()
    return {f'd{e}': [Style(v.m + 0.1*e, v.s*(1 + 0.1*e)) for v in st] for e in range(E)}

def step_time(teacher, E, B, a, dev):
    cfg = DTLConfig(ipc=B, batch_size=B, transfer_width=a.width, transfer_residual=a.residual)
    dtl = DTL(teacher, fake_styles(teacher, E, a.size, dev), torch.randn(K*B, 3, a.size, a.size),
              visit_schedule(cfg, K), K, cfg, dev)
    y, g = torch.zeros(B, dtype=torch.long, device=dev), torch.Generator().manual_seed(0)
    with _frozen(teacher), StyleRecorder(teacher) as rec:
        return median_time(lambda: dtl.update(0, y, 0, 0, g, rec), a.reps, dev)

def recover_time(teacher, ipc, a, dev):
    styles = fake_styles(teacher, 3, a.size, dev)
    kw = dict(n_classes=K, ipc=ipc, image_size=a.size, batch_size=10, iterations=4, steps_per_visit=4,
              transfer_width=a.width, transfer_residual=a.residual, progress=False, device=dev)
    train_dtl(teacher, styles, **{**kw, 'ipc': 1}) # warm-up
    t = time.perf_counter(); train_dtl(teacher, styles, **kw); _sync(dev)
    return time.perf_counter() - t

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--device', default='cpu'); p.add_argument('--size', type=int, default=32)
    p.add_argument('--teacher', default='efficientnet_lite0'); p.add_argument('--width', type=int, default=16)
    p.add_argument('--residual', type=int, default=2); p.add_argument('--reps', type=int, default=5)
    p.add_argument('--threads', type=int, default=None); p.add_argument('--out', default=None)
    p.add_argument('--Es', default='1,2,3,4,5'); p.add_argument('--Bs', default='5,10,20')
    p.add_argument('--ipcs', default='1,2,5,10')
    a = p.parse_args(argv)
    if a.threads: torch.set_num_threads(a.threads)
    dev = torch.device(a.device); torch.manual_seed(0)
    teacher = create_model(a.teacher, K, pretrained=False, image_size=a.size).to(dev).eval()
    Es, Bs, ipcs = ([int(x) for x in s.split(',')] for s in (a.Es, a.Bs, a.ipcs))
    print(f'{a.teacher} {a.size} px, psi {a.width}/{a.residual}, {dev}, torch {torch.__version__}, '
          f'{torch.get_num_threads()} threads')
    steps = [dict(E=E, B=B, images=(1 + E)*B, seconds=step_time(teacher, E, B, a, dev)) for B in Bs for E in Es]
    x, t = np.array([s['images'] for s in steps], float), np.array([s['seconds'] for s in steps])
    slope, icpt = np.polyfit(x, t, 1); fit = slope*x + icpt
    for s, f in zip(steps, fit):
        s['linear_fit'] = float(f)
        print(f"  E={s['E']} B={s['B']:3d} (1+E)B={s['images']:4d}: {s['seconds']*1e3:8.1f} ms "
              f"(linear fit {f*1e3:7.1f} ms, {s['seconds']/f:.2f}x)")
    far = [s for s in steps if abs(s['seconds']/s['linear_fit'] - 1) > 0.2]
    print(f'fit: {slope*1e3:.2f} ms per image of (1+E)B + {icpt*1e3:.1f} ms fixed per step; '
          + (f"{len(far)} of {len(steps)} points more than 20% off the line: "
             + ', '.join(f"E={s['E']} B={s['B']}" for s in far) if far else 'every point within 20% of the line'))
    rec = [dict(ipc=i, seconds=recover_time(teacher, i, a, dev)) for i in ipcs]
    for r in rec: print(f"  recover, IPC {r['ipc']:3d} (4 steps per image): {r['seconds']:.2f} s "
                        f"({r['seconds']/r['ipc']:.3f} s per IPC)")
    per = [r['seconds']/r['ipc'] for r in rec]
    if max(per) > 1.2*min(per): print(
        f'recover vs IPC is not linear below IPC = batch size (10): a class batch holds min(IPC, 10) images, so the '
        f'number of steps stays K*T and their fixed cost ({icpt*1e3:.0f} ms each) is shared by fewer images')
    out = dict(teacher=a.teacher, size=a.size, psi=[a.width, a.residual], device=str(dev),
               threads=torch.get_num_threads(), steps=steps, fit=dict(ms_per_image=slope*1e3, ms_fixed=icpt*1e3),
               recover=rec)
    if a.out:
        d = Path(a.out); d.mkdir(parents=True, exist_ok=True)
        name = f'dtl_cost_{a.teacher}_{a.size}px_{dev.type}'
        (d/f'{name}.json').write_text(json.dumps(out, indent=1))
        import matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot as plt
        fig, (l, r) = plt.subplots(1, 2, figsize=(9, 3.4))
        for B in Bs:
            pts = [s for s in steps if s['B'] == B]
            l.plot([s['images'] for s in pts], [s['seconds']*1e3 for s in pts], 'o-', label=f'B={B} (E=1..5)')
        xs = np.array([x.min(), x.max()]); l.plot(xs, (slope*xs + icpt)*1e3, 'k--', lw=1, label='linear fit')
        l.set(xlabel='(1+E)·B images through the teacher per step', ylabel='ms per DTL step',
              title=f'DTL step ({a.teacher}, {a.size} px)'); l.legend(fontsize=8)
        r.plot([q['ipc'] for q in rec], [q['seconds'] for q in rec], 'o-')
        r.set(xlabel='IPC', ylabel='seconds (4 steps per image, K=7, E=3)', title='whole recover vs IPC')
        fig.tight_layout(); fig.savefig(d/f'{name}.png', dpi=100)
        print(f'wrote {d/name}.json and .png')
    return out

if __name__ == '__main__': main()
