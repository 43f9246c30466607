"""The GPU check script runs here: without a GPU it says so and exits 0; `--device cpu` runs every stage's code."""
import json, subprocess, sys
from pathlib import Path
import pytest, torch

SCRIPT = Path(__file__).resolve().parents[1]/'benchmarks'/'gpu_check.py'

@pytest.mark.skipif(torch.cuda.is_available(), reason='this machine has a GPU: the script would run the real check')
def test_gpu_check_without_gpu():
    r = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True)
    assert r.returncode == 0 and 'no GPU here' in r.stdout, (r.stdout, r.stderr)

def test_gpu_check_cpu_smoke(tmp_path):
    out = tmp_path/'check.json'
    r = subprocess.run([sys.executable, str(SCRIPT), '--device', 'cpu', '--size', '32', '--teacher', 'small_cnn',
                        '--student', 'small_cnn', '--steps', '1', '--amp', 'bf16', '--json', str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    res = json.loads(out.read_text())
    assert list(res['modes']) == ['fp32', 'bf16']
    for mode in res['modes'].values():
        assert len(mode['stages']) == 7 and all(s['images_per_s'] > 0 for s in mode['stages'].values())
        assert all(v > 0 for v in mode['ratios'].values()) and len(mode['ratios']) == 3
        if sys.platform == 'linux': # CPU peak: resident memory above each stage's start
            peak = {k: s['peak_mib'] for k, s in mode['stages'].items()}
            assert all(v is not None and v >= 0 for v in peak.values()), peak
            assert peak['DTL step'] > peak['SRe2L step'], peak # (1+E)B teacher images and psi's E*B copies, against B
