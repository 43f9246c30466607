"""The GPU check: run it first on any GPU (a Colab T4 to an H100). It runs each stage of the `paper` preset (ResNet-18
teacher, ResNet-50 student, psi at Dumoulin's size, 224 px) for a few steps on generated images, with each
mixed-precision mode the GPU supports, and prints images/s and peak memory per stage, the DTL cost ratios of the speed
issue and each stage's throughput as a fraction of a bare ResNet-18 forward+backward. Random weights: no download.

    python benchmarks/gpu_check.py                      # on a GPU (under 5 minutes); --json gpu_check.json to keep it
    python benchmarks/gpu_check.py --device cpu --size 32 --teacher small_cnn --student small_cnn --steps 1  # smoke

Without a GPU (and without --device) it says so and exits 0."""
import argparse, ctypes, json, re, sys, time
import torch, torch.nn.functional as F
from ddg_nb.core import amp_dtype, autocast, grad_scaler, scaled_step
from ddg_nb.models import ERMTeacher, TeacherConfig, create_model, bn_layers
from ddg_nb.style import Style, StyleRecorder, domain_styles
from ddg_nb.dtl import DTL, DTLConfig, visit_schedule, _frozen
from ddg_nb.evaluate import KDStudent, StudentConfig
from ddg_nb.relabel import RelabelConfig
from ddg_nb.losses import bn_statistic_loss

K, E = 7, 3 # PACS: 7 classes, 3 seen domains

def _sync(dev):
    if dev.type == 'cuda': torch.cuda.synchronize(dev)

def _rss_mib(key:str)->float|None:
    "This process's resident set (`VmRSS`) or its high-water mark (`VmHWM`) in MiB, from /proc (None elsewhere)."
    try: return int(re.search(key + r':\s+(\d+)', open('/proc/self/status').read()).group(1))/1024
    except (OSError, AttributeError): return None

def _reset_peak_rss()->bool:
    """Give freed heap memory back to the system (glibc's `malloc_trim`, so that the next calls' memory is counted
    again), then set the high-water mark to the current resident set (Linux's /proc/self/clear_refs); False where it
    cannot."""
    try:
        ctypes.CDLL('libc.so.6').malloc_trim(0)
        with open('/proc/self/clear_refs', 'w') as f: f.write('5')
        return True
    except (OSError, AttributeError): return False

def timed(f, steps:int, dev)->tuple:
    """`(seconds per call, peak MiB or None)` of `f` over `steps` calls after one warm-up call. Peak: on a GPU the
    most memory allocated on it; on a CPU the most resident memory above the resident set before the calls (Linux)."""
    f(); _sync(dev)
    if dev.type == 'cuda': torch.cuda.reset_peak_memory_stats(dev)
    cpu_peak = dev.type == 'cpu' and _reset_peak_rss(); base = _rss_mib('VmRSS')
    t = time.perf_counter()
    for _ in range(steps): f()
    _sync(dev); dt = (time.perf_counter() - t)/steps
    if dev.type == 'cuda': return dt, torch.cuda.max_memory_allocated(dev)/2**20
    return dt, (_rss_mib('VmHWM') - base if cpu_peak and base is not None else None)

def modes(dev, asked):
    "The AMP modes to run: fp32 always; bf16 where the device has it; fp16."
    out = [None]
    if 'bf16' in asked and (dev.type != 'cuda' or torch.cuda.is_bf16_supported()): out.append('bf16')
    if 'fp16' in asked: out.append('fp16')
    return out

def bare_fb(arch, B, s, dev, amp):
    "A plain training step's forward+backward of `arch` (the hardware's reference throughput)."
    m = create_model(arch, K, pretrained=False, image_size=s).to(dev).to(memory_format=torch.channels_last)
    x = torch.randn(B, 3, s, s, device=dev).to(memory_format=torch.channels_last)
    def f():
        with autocast(dev, amp): loss = m(x).float().logsumexp(1).mean()
        loss.backward()
    return f

def stage_fns(a, dev, amp):
    "`{stage: (callable, images per call)}` for one AMP mode, built from the library's own classes."
    s, B = a.size, a.batch
    teach = ERMTeacher(K, TeacherConfig(model=a.teacher, pretrained=False, image_size=s, batch_size=B, amp=amp), dev)
    xu = torch.randint(0, 256, (E*B, 3, s, s), dtype=torch.uint8, device=dev); yu = torch.arange(E*B, device=dev) % K
    g = torch.Generator().manual_seed(0)
    teacher = teach.model.eval()
    xs = torch.randn(a.bank_batch, 3, s, s, device=dev)
    bank = lambda: domain_styles(teacher, {'d': [(xs, None)]}, progress=False, amp=amp)
    st = bank()['d']
    styles = {f'd{e}': [Style(v.m + 0.1*e, v.s*(1 + 0.1*e)) for v in st] for e in range(E)}
    cfg = DTLConfig(ipc=B, batch_size=B, amp=amp) # the paper's psi (32 channels, 5 residual blocks)
    sched = visit_schedule(cfg, K)
    dtl = DTL(teacher, styles, torch.randn(K*B, 3, s, s), sched, K, cfg, dev)
    y0 = torch.zeros(B, dtype=torch.long, device=dev)
    fns = {'teacher step (ERM)': (lambda: teach.update(xu, yu, g), E*B), 'style bank (forward)': (bank, len(xs))}
    with _frozen(teacher):
        rec = StyleRecorder(teacher).__enter__()
        fns['DTL step'] = (lambda: dtl.update(0, y0, 0, 0, g, rec), (1 + E)*B)
        xin = torch.randn((1 + E)*B, 3, s, s, device=dev, requires_grad=True)
        def teacher_fb():
            with autocast(dev, amp): loss = teacher(xin).float().sum()
            loss.backward()
        fns['teacher fwd+bwd (input grad)'] = (teacher_fb, (1 + E)*B)
        xe, dom = torch.randn(E*B, 3, s, s, device=dev), torch.arange(E, device=dev).repeat_interleave(B)
        def psi_fb():
            with autocast(dev, amp): loss = dtl.transfer(xe, dom).float().sum()
            loss.backward()
        fns['psi fwd+bwd'] = (psi_fb, E*B)
        S = torch.nn.Parameter(torch.randn(B, 3, s, s, device=dev)); opt = torch.optim.Adam([S], lr=0.1)
        bns, sc = bn_layers(teacher), grad_scaler(amp, dev, init_scale=1.)
        def sre2l():
            with autocast(dev, amp): logits = teacher(S)
            loss = F.cross_entropy(logits.float(), y0) + 0.01*bn_statistic_loss(bns, rec.stats, 10.)
            opt.zero_grad(); scaled_step(loss, sc, opt)
        fns['SRe2L step'] = (sre2l, B)
        stu = KDStudent(teacher, K, K*B, StudentConfig(model=a.student, pretrained=False, image_size=s, batch_size=B,
                                                       amp=amp), RelabelConfig(), dtl.transfer, dev)
        xd = torch.randn(B, 3, s, s, device=dev)
        fns['student step (relabel + DSM)'] = (lambda: stu.update(xd, g), B)
        return fns, rec

def macs(model, x, *args)->float:
    "Multiply-accumulates of one forward of `model` on `x` (torch's flop counter)."
    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(display=False) as f, torch.no_grad(): model(x, *args)
    return f.get_total_flops()/2

def check(a)->dict:
    dev = torch.device(a.device)
    from ddg_nb.transfer import TransferNet
    x1 = torch.randn(1, 3, a.size, a.size)
    m_t = macs(create_model(a.teacher, K, pretrained=False, image_size=a.size).eval(), x1)
    m_p = macs(TransferNet(E, width=32, n_residual=5), x1, torch.zeros(1, dtype=torch.long))
    print(f'per image: teacher {m_t/1e9:.3f} GMAC, psi (32 channels, 5 residual blocks) {m_p/1e9:.3f} GMAC '
          f'({m_p/m_t:.2f}x the teacher): a DTL step does about (1+E) + E*{m_p/m_t:.2f} = {1 + E + E*m_p/m_t:.1f}x '
          'the work of an SRe2L step (backward costs taken proportional to forward MACs)')
    out = dict(device=torch.cuda.get_device_name(dev) if dev.type == 'cuda' else 'cpu', size=a.size, batch=a.batch,
               torch=torch.__version__, gmac_teacher=m_t/1e9, gmac_psi=m_p/1e9, modes={})
    print(f"{out['device']}, torch {torch.__version__}, {a.size} px, batch {a.batch}, teacher {a.teacher}, "
          f"student {a.student}, {a.steps} timed steps per stage; peak memory: "
          + ('the most allocated on the GPU' if dev.type == 'cuda' else 'the most resident above the stage\'s start (+)'))
    for amp in modes(dev, a.amp):
        t_ref, _ = timed(bare_fb('resnet18', a.batch, a.size, dev, amp), a.steps, dev)
        ref = a.batch/t_ref
        fns, rec = stage_fns(a, dev, amp)
        rows = {}
        try:
            for name, (f, n) in fns.items():
                dt, mem = timed(f, a.steps, dev)
                rows[name] = dict(ms=dt*1e3, images_per_s=n/dt, peak_mib=mem, of_resnet18=n/dt/ref)
        finally: rec.__exit__(None, None, None)
        d, tf, pf, sr = (rows[k]['ms'] for k in ('DTL step', 'teacher fwd+bwd (input grad)', 'psi fwd+bwd',
                                                  'SRe2L step'))
        ratios = {'DTL step / (teacher + psi fwd+bwd)': d/(tf + pf), 'psi / teacher fwd+bwd': pf/tf,
                  f'DTL step / SRe2L step (target <= 1+E = {1 + E})': d/sr}
        out['modes'][str(amp or 'fp32')] = dict(resnet18_images_per_s=ref, stages=rows, ratios=ratios)
        print(f"\namp={amp or 'fp32'} (autocast {amp_dtype(amp, dev)}): bare ResNet-18 fwd+bwd {ref:.0f} images/s")
        for name, r in rows.items():
            mem = (f"{'+' if dev.type == 'cpu' else ''}{r['peak_mib']:.0f} MiB".rjust(12) if r['peak_mib'] is not None
                   else '       - MiB')
            print(f"  {name:32s} {r['images_per_s']:9.1f} images/s {r['ms']:9.1f} ms {mem}  "
                  f"{r['of_resnet18']:.2f}x ResNet-18")
        for k, v in ratios.items(): print(f'  {k}: {v:.2f}')
    return out

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--device', default=None, help='cuda, cuda:1, cpu (default: cuda if there is one, else stop)')
    p.add_argument('--size', type=int, default=224); p.add_argument('--batch', type=int, default=10)
    p.add_argument('--bank_batch', type=int, default=64, help='images per style-bank forward')
    p.add_argument('--steps', type=int, default=10, help='timed steps per stage (after one warm-up)')
    p.add_argument('--teacher', default='resnet18'); p.add_argument('--student', default='resnet50')
    p.add_argument('--amp', default='bf16,fp16', help='modes besides fp32 (comma-separated)')
    p.add_argument('--json', default=None, help='write the numbers to this file')
    a = p.parse_args(argv); a.amp = a.amp.split(',')
    if a.device is None:
        if not torch.cuda.is_available():
            print('gpu_check: no GPU here (torch.cuda.is_available() is False); nothing to check. Run it on a GPU, '
                  'or pass --device cpu for a smoke run.')
            return 0
        a.device = 'cuda'
    torch.backends.cudnn.benchmark = True
    out = check(a)
    if a.json: json.dump(out, open(a.json, 'w'), indent=1)
    return 0

if __name__ == '__main__': sys.exit(main())
