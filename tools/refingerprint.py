"""Carry a run folder made with the modification-time fingerprint over to the content-based data fingerprint, without recomputing anything.

Until December 2026 (within 0.2.0), `ddg_nb.stage.data_fingerprint` hashed each file's modification time, so a copy of the same dataset (a
fresh checkout of a read-only share, data staged to a node's local disk) made every teacher, and every stage computed
from one, look stale. Now it hashes the files' contents. This script rewrites the teachers of a run folder to
the new fingerprint of the dataset as it is now, and the teacher keys that the style banks, baseline sets and rows
hold, renaming the row folders that are named by those keys.

It cannot know that the files are the ones the teachers were trained on (their modification times are all it had):
it checks them against the dataset's `SHA256SUMS` when there is one, and otherwise it is your word.

    python tools/refingerprint.py RUN_DIR/PACS --data_root ../shared/data [--dry_run]
"""
import argparse, json, hashlib
from pathlib import Path
from ddg_nb.core import settings_hash, save_json, load_json, DamagedFile
from ddg_nb.data import get_dataset
from ddg_nb.stage import load_unit, save_unit, data_fingerprint

TEACHER_KEYS = ('config', 'dataset', 'classes', 'seen_domains', 'test_domain', 'data', 'version') # `Teacher.identity`

def teacher_key(rec:dict)->str: return settings_hash({k: rec[k] for k in TEACHER_KEYS})

def check_sums(root:Path)->str:
    "Check the dataset's files against its SHA256SUMS; a sentence saying what was checked."
    sums = root/'SHA256SUMS'
    if not sums.exists(): return f'{root} has no SHA256SUMS: the files are taken to be the ones the teachers read'
    bad = [n for d, n in (l.split(None, 1) for l in sums.read_text().splitlines() if l.strip())
           if hashlib.sha256((root/n.strip()).read_bytes()).hexdigest() != d]
    if bad: raise SystemExit(f'{len(bad)} files of {root} differ from its SHA256SUMS (first: {bad[0]}); not rewriting')
    return f'every file of {root} matches its SHA256SUMS'

def rekey(obj, old:dict):
    "`obj` with every string that is an old teacher key replaced by the new one."
    if isinstance(obj, dict): return {k: rekey(v, old) for k, v in obj.items()}
    if isinstance(obj, list): return [rekey(v, old) for v in obj]
    return old.get(obj, obj) if isinstance(obj, str) else obj

def main(run:Path, data_root:Path, dry_run:bool):
    teachers = sorted(run.rglob('teacher.safetensors'))
    if not teachers: raise SystemExit(f'no teacher.safetensors under {run}')
    name = load_unit(teachers[0])[1]['dataset']; ds = get_dataset(name, data_root)
    print(check_sums(Path(ds.path))); new_fp = data_fingerprint(ds.files, ds.path); old = {}
    for f in teachers:
        t, rec = load_unit(f); k0 = teacher_key(rec)
        rec['data'] = rec['identity']['data'] = new_fp; old[k0] = teacher_key(rec)
        print(f'{f.relative_to(run)}: key {k0} -> {old[k0]}')
        if not dry_run: save_unit(f, t, rec)
    n = 0
    for f in sorted(run.rglob('*.safetensors')):
        if f.name == 'teacher.safetensors': continue
        try: t, rec = load_unit(f)
        except DamagedFile: # kept student weights, exported sets: plain tensors, no record, no key
            print(f'{f.relative_to(run)}: no ddg_nb record, left as it is'); continue
        new = rekey(rec, old)
        if new != rec: n += 1; dry_run or save_unit(f, t, new)
    for f in sorted(run.rglob('*.json')):
        rec = load_json(f); new = rekey(rec, old)
        if new != rec: n += 1; dry_run or save_json(new, f)
    print(f'{n} artifacts hold a rewritten teacher key')
    for f in sorted(run.rglob('row.json')):
        rec = load_json(f) if not dry_run else rekey(load_json(f), old); s = rec['identity']
        want = f"{s['settings']['config']['student']['model']}-{settings_hash([s['settings']['config'], s['inputs']])}"
        if f.parent.name != want:
            print(f'{f.parent.relative_to(run)} -> {want}')
            if not dry_run: f.parent.rename(f.parent.with_name(want))
    print('results.jsonl is rewritten from the rows by the next `ddg run`')

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('run', type=Path, help="a run folder's dataset folder, e.g. runs/PACS")
    p.add_argument('--data_root', type=Path, required=True, help='the folder holding the dataset folder')
    p.add_argument('--dry_run', action='store_true', help='say what would change, change nothing')
    a = p.parse_args(); main(a.run, a.data_root, a.dry_run)
