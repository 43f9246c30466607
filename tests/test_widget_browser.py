"""The live `TransferExplorer` widget in a real browser (`tools/check_widget_browser.py`): a tiny DTL run served in a
notebook by Voilà (a real kernel), opened in headless Chromium; moving the λ slider with the keyboard must change the
mixed image (a round trip through the kernel), and nothing may be fetched from another host but Voilà's icon CSS.

Marked `docs` (about 20 s on one core): `pytest -m "not docs"` deselects it. Needs Debian's `chromium`, `playwright`,
`voila` and `ipykernel` (settings.ini's dev extras and `.ci/run` install them); where one is missing it is skipped,
except in CI, where it fails."""
import os, sys, shutil, importlib.util
from pathlib import Path
import pytest
from conftest import require_tools

ROOT = Path(__file__).resolve().parents[1]

@pytest.mark.docs
def test_transfer_explorer_in_browser(tmp_path):
    require_tools('widget browser check', 'chromium', 'playwright', 'voila', 'ipykernel')
    sys.path.insert(0, str(ROOT/'tools'))
    import check_widget_browser as cwb
    rep = cwb.run(tmp_path/'shots')
    print(f'widget check: {rep["seconds"]} s, steps:', [(s['key'], s['readout']) for s in rep['steps']])
    assert not rep['failures'], '\n'.join(rep['failures'])
    assert [s['readout'] for s in rep['steps']] == ['0.50', '1.00', '0.00', '0.20']
