"""Measurement: how far psi carries S into each seen style, per DTL setting (seen domains only).

For each held-out domain and each named DTL setting, trains (or loads) the preset's teacher, style bank and DTL run
with that setting, and records `transfer_quality` (per seen domain: normalized style loss of S, of psi's copies and
of a same-size real subset to that domain's style; the fraction of the distance closed; pixel values outside [0, 1])
and the DTL run's time. Nothing here looks at the held-out domain: the numbers are for choosing settings.
Rows are appended to `--out` as JSON lines; a (domain, setting) already there is skipped (resumable).

Usage: python tools/psi_quality.py --preset cpu-pacs --data_root ../shared/data --test_domains sketch
           --settings "base=;w32=dtl.transfer_width=32,dtl.transfer_residual=5" --out nbs/results/psi-quality.jsonl
With `--trial T --work RUNS` it measures in a `ddg run --out RUNS` folder: that trial's teacher, and the DTL run of
the preset's setting, are the run's own (loaded, not retrained)."""
from __future__ import annotations
import json, time
from pathlib import Path
from fastcore.script import call_parse

def _parse(settings:str)->dict:
    "'name=k=v,k=v;name2=...' -> {name: {k: v}} (values as the configuration's types coerce them)."
    out = {}
    for part in filter(None, (p.strip() for p in settings.split(';'))):
        name, _, kv = part.partition('=')
        out[name] = dict(x.split('=', 1) for x in kv.split(',') if x)
    return out

@call_parse
def main(preset:str='cpu-pacs', # experiment preset
         data_root:str=None, # folder holding the dataset
         test_domains:str='sketch', # comma-separated held-out domains
         settings:str='base=', # 'name=dotted.key=value,...;name2=...' (empty: the preset itself)
         seed:int=0, # DTL seed (which real images S starts from)
         trial:int=None, # DomainBed trial (splits and teacher redrawn; a `ddg run` folder's trialN); None: base/domain
         work:str='/work/runs/psi-quality', # run folder (teacher, style bank, DTL runs)
         out:str='nbs/results/psi-quality.jsonl'): # where rows are appended
    from ddg_nb.pipeline import experiment_config, trial_config, _domain_stages, _logger, StageContext
    from ddg_nb.styleshapes import load_dataset
    done = set()
    if Path(out).exists(): done = {(r['test_domain'], r.get('trial'), r['setting']) for r in map(json.loads, open(out))}
    for name, over in _parse(settings).items():
        cfg = experiment_config(preset, data_root=data_root, out=work, methods=['dtl'], **over)
        if trial is not None: cfg = trial_config(cfg, trial)
        ds = load_dataset(cfg.dataset, cfg.data_root); base = Path(work)/ds.name; log = _logger(base/'run.log')
        for d in [ds.domain_name(x) for x in test_domains.split(',')]:
            if (d, trial, name) in done: continue
            dom = base/d if trial is None else base/d/f'trial{trial}' # a `ddg run` folder: its teacher and DTL runs
            splits, teacher, styles, val, test = _domain_stages(cfg, ds, d, dom, log) # the teacher in dom/teacher
            folder = dom/f'seed{seed}'/f'ipc{cfg.ipc}' # DTL runs in keyed folders below it: the preset's is the run's
            if trial is None: folder = folder/name
            ctx = StageContext(cfg, ds, splits, teacher, styles, seed, folder, log, trial=trial or 0)
            t0 = time.time(); r = ctx.dtl(); t_dtl = time.time() - t0
            q = ctx.transfer_quality()
            row = dict(test_domain=d, trial=trial, setting=name, overrides=over, preset=preset, seed=seed,
                       seconds=t_dtl, dtl=dict(vars(r.config)), quality=q, teacher_val=teacher.metrics['val_acc'])
            with open(out, 'a') as f: f.write(json.dumps(row) + '\n')
            print(d, name, f'{t_dtl:.0f} s', ' '.join(f"{e}:{v['closed']:.2f}" for e, v in q.items()), flush=True)
