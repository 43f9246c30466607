#!/usr/bin/env python
"""Usage: python tools/perdomain_bn_diag.py HELD_OUT_DOMAIN OUT.jsonl  (reads the runs of /work/runs/v02-ss)

Diagnosis: why are 0.2's per-domain rows (RDED per domain, StyleShapes cpu, trial 0) so low? Student BN trained vs
frozen, relabel by own-domain teachers vs the teacher of all seen domains, on the stored set. Seen-domain val decides."""
import sys, json, time, dataclasses, glob, torch
from pathlib import Path
from ddg_nb.pipeline import experiment_config, _domain_stages, _logger, trial_config, StageContext, _domain_teachers
from ddg_nb.relabel import DomainTeachers
from ddg_nb.evaluate import train_student
from ddg_nb.stage import load_unit
from ddg_nb.data import get_dataset
torch.set_num_threads(1)
d = sys.argv[1]; out = Path(sys.argv[2])
cfg = trial_config(experiment_config('cpu', out='/work/runs/v02-ss', methods=['rded-per-domain']), 0)
from ddg_nb.styleshapes import load_dataset
ds = load_dataset(cfg.dataset, cfg.data_root); base = Path(cfg.out)/ds.name; log = _logger(Path('/tmp/diag.log'))
splits, teacher, styles, val, test = _domain_stages(cfg, ds, d, base/d/'trial0', log)
(f,) = glob.glob(str(base/d/'trial0/seed0/ipc10/rded-per-domain/set-*/distilled.safetensors'))
t, _ = load_unit(f); images = t['images']
ctx = StageContext(cfg, ds, splits, teacher, styles, 0, base/d/'trial0/seed0/ipc10', log)
teachers = _domain_teachers(ctx); K, E = len(ds.classes), len(teachers)
dom = torch.arange(E).repeat_interleave(cfg.ipc).repeat(K)
# sanity: does each image's own teacher agree with its label?
with torch.no_grad():
    own = torch.stack([m(images[i:i+1]).argmax(1)[0] for i, m in zip(range(len(images)), [list(teachers.values())[e] for e in dom])])
    allp = teacher.model(images).argmax(1)
print(d, 'labels', t['labels'][:12].tolist(), 'own-teacher agrees', (own == t['labels']).float().mean().item(), 'all-teacher agrees', (allp == t['labels']).float().mean().item(), flush=True)
for name, freeze, who in [('own+bn', False, 'own'), ('own+frozen', True, 'own'), ('all+bn', False, 'all'), ('all+frozen', True, 'all')]:
    scfg = dataclasses.replace(cfg.student, seed=0, freeze_bn=freeze)
    tm, dd = (DomainTeachers(list(teachers.values())), dom) if who == 'own' else (teacher.model, None)
    t0 = time.time()
    r = train_student(tm, images, val, test, scfg, dataclasses.replace(cfg.relabel, dsm_p=0.), None, progress=False,
                      epoch_images=K*cfg.ipc, domains=dd)
    row = dict(test_domain=d, setting=name, val_acc=r.val_acc, test_acc=r.test_acc, epoch=r.selected_epoch, seconds=time.time() - t0)
    print(row, flush=True)
    with open(out, 'a') as fh: fh.write(json.dumps(row) + '\n')
