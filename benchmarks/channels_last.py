"""Benchmark: the channels_last memory format against the default (NCHW), stage by stage.

For each model and resolution, times the inner step of the three training stages in both formats:
- teacher: an ERM step (forward, backward, Adam) on 3 seen domains x 32 images;
- DTL: one `dtl_step_losses` step (teacher and psi) on 10 images and their 3 transferred copies, with the updates;
- student: a relabel + KD step (teacher forward for the soft labels, student forward, backward, AdamW) on 32 images.
Only the models are converted (`model.to(memory_format=torch.channels_last)`), as ddg_nb does; the inputs stay NCHW.
Prints the median times and the ratio NCHW / channels_last (above 1: channels_last is faster).
Usage: python benchmarks/channels_last.py [--threads N] [--reps R]   (the pipeline's workers use 1 thread each with --jobs 2)"""
import argparse, time, torch, torch.nn.functional as F
from ddg_nb.models import create_model
from ddg_nb.style import Style, StyleRecorder
from ddg_nb.transfer import TransferNet
from ddg_nb.dtl import DTLConfig, dtl_step_losses, roll_jitter, stack_styles

def median_time(f, reps):
    f(); f()  # warm-up
    ts = []
    for _ in range(reps):
        t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    return sorted(ts)[len(ts)//2]

def stages(name, size, channels_last):
    "The three step functions with models in the given memory format."
    torch.manual_seed(0)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    teacher = create_model(name, 7).to(memory_format=fmt)
    student = create_model(name, 7).to(memory_format=fmt)
    E, B = 3, 10
    psi = TransferNet(E, width=16, n_residual=2).to(memory_format=fmt)
    opt_t = torch.optim.Adam(teacher.parameters(), 1e-4); opt_s = torch.optim.AdamW(student.parameters(), 1e-4)
    xt, yt = torch.randn(3*32, 3, size, size), torch.randint(0, 7, (3*32,))
    def teacher_step():
        teacher.train(); loss = F.cross_entropy(teacher(xt), yt)
        opt_t.zero_grad(); loss.backward(); opt_t.step()
    frozen = create_model(name, 7).to(memory_format=fmt).eval().requires_grad_(False)
    with StyleRecorder(frozen) as rec:
        frozen(torch.randn(2, 3, size, size)); chans = [len(st.m) for st in rec.styles()]
    styles = {f'd{e}': [Style(torch.randn(c), torch.rand(c) + 0.5) for c in chans] for e in range(E)}
    target = [Style(torch.stack([styles[d][l].m for d in styles]).mean(0), torch.stack([styles[d][l].s for d in styles]).mean(0))
              for l in range(len(chans))]
    targets, cfg = stack_styles(styles), DTLConfig()
    S = torch.nn.Parameter(torch.randn(B, 3, size, size)); y = torch.randint(0, 7, (B,)); g = torch.Generator().manual_seed(0)
    opt_S = torch.optim.Adam([S], lr=0.05, betas=(0.5, 0.9)); opt_psi = torch.optim.Adam(psi.parameters(), lr=1e-3)
    def dtl_step():
        with StyleRecorder(frozen) as rec: total, _ = dtl_step_losses(frozen, psi, roll_jitter(S, 4, True, g), y, target, targets, cfg, rec)
        opt_S.zero_grad(); opt_psi.zero_grad(); total.backward(); opt_S.step(); opt_psi.step()
    xs = torch.randn(32, 3, size, size)
    def student_step():
        with torch.no_grad(): soft = F.softmax(frozen(xs)/4, 1)
        student.train(); loss = F.kl_div(F.log_softmax(student(xs)/4, 1), soft, reduction='batchmean')
        opt_s.zero_grad(); loss.backward(); opt_s.step()
    return dict(teacher=teacher_step, dtl=dtl_step, student=student_step)

if __name__ == '__main__':
    p = argparse.ArgumentParser(); p.add_argument('--threads', type=int, default=1); p.add_argument('--reps', type=int, default=7)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    print(f'torch {torch.__version__}, {torch.get_num_threads()} thread(s); median step times, NCHW / channels_last')
    for name, size in [('efficientnet_lite0', 32), ('efficientnet_lite0', 64), ('small_cnn', 32), ('resnet18', 64)]:
        nchw, cl = stages(name, size, False), stages(name, size, True)
        cells = []
        for stage in nchw:
            t0, t1 = median_time(nchw[stage], a.reps), median_time(cl[stage], a.reps)
            cells.append(f'{stage} {t0*1e3:.0f} / {t1*1e3:.0f} ms = {t0/t1:.2f}x')
        print(f'{name} {size}px: ' + '; '.join(cells), flush=True)
