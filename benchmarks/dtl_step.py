"""Benchmark: one DTL step against the work it cannot avoid, and the fused teacher pass against 1+E passes.

The unavoidable work of a step is a teacher forward+backward (gradient w.r.t. the input only: the teacher is frozen)
on the (1+E)*B images and a psi forward+backward on the E*B copies. Prints ratios measured in one run on this
machine. Usage: python benchmarks/dtl_step.py [--threads N] [--reps R]"""
import argparse, time, torch
from ddg_nb.models import create_model
from ddg_nb.style import Style, StyleRecorder
from ddg_nb.transfer import TransferNet
from ddg_nb.dtl import DTLConfig, dtl_step_losses, roll_jitter, stack_styles, pixel_bounds

def bench(f, reps):
    f(); f()  # warm-up
    ts = []
    for _ in range(reps):
        t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    return sorted(ts)[len(ts)//2]  # median

def run(name, size, B, E, reps):
    torch.manual_seed(0)
    teacher = create_model(name, 7).eval().requires_grad_(False)
    cfg = DTLConfig(transfer_width=16, transfer_residual=2)
    psi = TransferNet(E, width=cfg.transfer_width, n_residual=cfg.transfer_residual)
    with StyleRecorder(teacher) as rec:
        teacher(torch.randn(4, 3, size, size)); L = rec.n_layers
        chans = [len(st.m) for st in rec.styles()]
    styles = {f'd{e}': [Style(torch.randn(c), torch.rand(c) + 0.5) for c in chans] for e in range(E)}
    target = [Style(torch.stack([styles[d][l].m for d in styles]).mean(0), torch.stack([styles[d][l].s for d in styles]).mean(0)) for l in range(L)]
    targets = stack_styles(styles)
    S = torch.nn.Parameter(torch.randn(B, 3, size, size)); y = torch.randint(0, 7, (B,))
    opt = torch.optim.Adam([S], lr=0.05, betas=(0.5, 0.9)); opt_psi = torch.optim.Adam(psi.parameters(), lr=1e-3)
    lo, hi = pixel_bounds((0.5,)*3, (0.5,)*3); g = torch.Generator().manual_seed(0)
    xcat = torch.randn((1 + E)*B, 3, size, size, requires_grad=True)
    xe, dom = torch.randn(E*B, 3, size, size), torch.arange(E).repeat_interleave(B)
    def teacher_fb(): teacher(xcat).sum().backward()
    def psi_fb(): psi(xe, dom).sum().backward()
    def step(c):
        def f():
            with StyleRecorder(teacher) as rec:
                total, _ = dtl_step_losses(teacher, psi, roll_jitter(S, 4, True, g), y, target, targets, c, rec)
            opt.zero_grad(); opt_psi.zero_grad(); total.backward(); opt.step(); opt_psi.step()
            with torch.no_grad(): S.copy_(torch.maximum(torch.minimum(S, hi), lo))
        return f
    t_teacher, t_psi = bench(teacher_fb, reps), bench(psi_fb, reps)
    t_fused, t_naive = bench(step(cfg), reps), bench(step(DTLConfig(fused=False)), reps)
    need = t_teacher + t_psi
    print(f'{name} {size}px, B={B}, E={E}, {L} BN layers: teacher fwd+bwd {t_teacher*1e3:.0f} ms + psi fwd+bwd {t_psi*1e3:.0f} ms = {need*1e3:.0f} ms; '
          f'fused step {t_fused*1e3:.0f} ms ({t_fused/need:.2f}x the unavoidable work), naive step {t_naive*1e3:.0f} ms '
          f'(fused/naive = {t_fused/t_naive:.2f})')

if __name__ == '__main__':
    p = argparse.ArgumentParser(); p.add_argument('--threads', type=int, default=None); p.add_argument('--reps', type=int, default=7)
    a = p.parse_args()
    if a.threads: torch.set_num_threads(a.threads)
    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads')
    run('small_cnn', 32, 10, 3, a.reps)
    run('efficientnet_lite0', 64, 10, 3, a.reps)
