"""Analysis: where DTL moves a distilled set's style, next to the held-out domain's style.

For each held-out domain of a finished run folder (`ddg run ... --out OUT` writes `OUT/<dataset>/<domain>/...`), it
computes with that domain's teacher the style (eq. 5: per-image channel mean and std at every BN input, averaged over
the set) of DTL's starting images (the seed's random real images, the `random` row) and of DTL's images, and prints
the normalized style loss (eq. 8, summed over layers) of each against the averaged seen style (DTL's target), against
each seen domain's style and against the held-out domain's own style, estimated from `--n_test` of its images (the
held-out domain is used here for analysis only; no training stage ever sees it). Also prints the distance of the
averaged seen style and of each seen domain's style to the held-out one, and how far DTL moved the pixels.

Usage: python tools/style_distance.py RUN_DATASET_FOLDER --data_root ROOT [--test_domains a,b] [--seed 0] [--n_test 600] [--out FILE.jsonl]
e.g.   python tools/style_distance.py runs/PACS --data_root ../shared/data
Runs on one CPU thread in about a minute per held-out domain (64-px PACS, EfficientNet-Lite0)."""
from __future__ import annotations
from pathlib import Path
import torch
from fastcore.script import call_parse

def style_distances(folder:str|Path, # `OUT/<dataset>`: a finished run's dataset folder (teacher, styles, seed*/ipc*/dtl)
                    data_root:str|Path|None, # the folder holding the dataset (None: `ddg_nb.data.data_root()`)
                    test_domain:str, # the held-out domain to analyse
                    seed:int=0, # the run's seed (which random images and which DTL run)
                    ipc:int=10, # the run's images per class (its `seed<k>/ipc<n>` folder)
                    trial:int=0, # the run's DomainBed trial (its splits and teacher)
                    n_test:int=600 # held-out images used to estimate its style
                   )->dict:
    "Normalized style losses of the random and DTL sets against the averaged seen, each seen and the held-out style."
    import dataclasses
    from ddg_nb.data import get_dataset, domainbed_splits, batch_test_transform
    from ddg_nb.models import load_teacher, model_mean_std
    from ddg_nb.dtl import load_dtl, sample_real_images
    from ddg_nb.style import styles_from_tensors, average_style, domain_styles
    from ddg_nb.stage import load_unit
    from ddg_nb.losses import avg_style_loss
    folder = Path(folder); base = folder/test_domain/f'trial{trial}'
    def one(pattern): # the artifact's folder; the keyed layout (teacher/<model>-<hash>, dtl/set-<hash>) or 0.2.0's
        found = sorted(base.glob(pattern)) or sorted(base.glob(pattern.replace('/*/', '/')))
        if not found: raise FileNotFoundError(f'no {pattern} in {base}: run the pipeline for {test_domain!r}, trial {trial}, seed {seed}, IPC {ipc} first')
        if len(found) > 1: print(f'{base}: {len(found)} runs of {pattern}; using {found[0].parent}')
        return found[0].parent
    tdir, ddir = one('teacher/*/teacher.safetensors'), one(f'seed{seed}/ipc{ipc}/dtl/*/dtl.safetensors')
    bank_file = tdir/'style_bank.safetensors' if (tdir/'style_bank.safetensors').exists() else base/'style_bank.safetensors'
    ds = get_dataset(folder.name, data_root)
    loaded = load_teacher(tdir, 'cpu', channels_last=False)
    tcfg, teacher = dataclasses.asdict(loaded.config), loaded.model.eval()
    mean, std, size = *model_mean_std(teacher), tcfg['image_size']
    splits = domainbed_splits(ds, test_domain, tcfg['holdout_fraction'], tcfg['split_seed'], tcfg['test_split'])
    random = sample_real_images(ds, splits, ipc, size, mean, std, seed=seed)[0]
    dtl = load_dtl(ddir).images
    t, rec = load_unit(bank_file); bank = styles_from_tensors(t, rec['domains'], rec['n_layers'])
    pick = torch.randperm(len(splits.test), generator=torch.Generator().manual_seed(0))[:n_test].tolist()
    sub = ds.subset(test_domain, [splits.test[i] for i in pick], preload=size)
    style_of = lambda x: domain_styles(teacher, {'x': [(x, None)]}, progress=False)['x']
    unseen, avg = style_of(batch_test_transform(sub.images, size, mean, std)), average_style(bank)
    d = lambda a, b: round(avg_style_loss(a, b).item(), 2)
    out = dict(test_domain=test_domain, avg_seen_to_unseen=d(avg, unseen), seen_to_unseen={e: d(s, unseen) for e, s in bank.items()},
               pixel_change=round(((dtl - random).norm()/random.norm()).item(), 3))
    for name, x in (('random', random), ('dtl', dtl)):
        s = style_of(x)
        out[name] = dict(to_avg_seen=d(s, avg), to_unseen=d(s, unseen), to_seen={e: d(s, t) for e, t in bank.items()})
    return out

@call_parse
def main(folder:str, # `OUT/<dataset>` of a finished run, e.g. runs/PACS
         data_root:str=None, # the folder holding the dataset (default: ddg_nb.data.data_root())
         test_domains:str=None, # comma-separated held-out domains (default: every one in the folder with a DTL run)
         seed:int=0, # the run's seed
         ipc:int=10, # the run's images per class
         trial:int=0, # the run's DomainBed trial
         n_test:int=600, # held-out images used to estimate its style
         out:str=None): # also write the results as JSON lines to this file
    "Print, per held-out domain, how far the random and DTL sets' styles are from the seen and the held-out styles."
    import json
    from ddg_nb.core import atomic_write
    torch.set_num_threads(1)
    rows = []
    doms = test_domains.split(',') if test_domains else sorted({p.relative_to(folder).parts[0] for p in Path(folder).glob(f'*/trial{trial}/seed{seed}/ipc{ipc}/dtl/**/dtl.safetensors')})
    for dom in doms:
        r = style_distances(folder, data_root, dom, seed, ipc, trial, n_test); rows.append(dict(r, seed=seed, ipc=ipc, trial=trial, n_test=n_test))
        print(f"{dom}: averaged seen style -> {dom}: {r['avg_seen_to_unseen']}; each seen style -> {dom}: "
              + ', '.join(f'{e} {v}' for e, v in r['seen_to_unseen'].items()) + f"; DTL moved the pixels by {r['pixel_change']:.1%}")
        for k in ('random', 'dtl'):
            v = r[k]
            print(f"  {k:6s} set -> averaged seen {v['to_avg_seen']:7.2f}   -> {dom} {v['to_unseen']:7.2f}   -> each seen "
                  + ', '.join(f'{e} {x}' for e, x in v['to_seen'].items()), flush=True)
    if out:
        with atomic_write(out, 'w') as f: f.writelines(json.dumps(r) + '\n' for r in rows)
