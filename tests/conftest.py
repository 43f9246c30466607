import os, torch
# Notebooks run in-process (execnb); with pytest-xdist two workers share the 2 cores.
if os.environ.get('PYTEST_XDIST_WORKER'): torch.set_num_threads(max(1, (os.cpu_count() or 2)//2))
os.environ.setdefault('MPLBACKEND', 'Agg')
