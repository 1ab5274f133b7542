# Run ON THE GPU MACHINE (python3 there holds PyTorch): what a CUDA-graph node costs on this
# machine, so per-layer times can be read against it. Replays graphs of N tiny kernels and of N
# 1 MiB copies, with and without a heavy warm-up before (the SM clock idles at 345 MHz).
import sys, time, torch

def replay_ms(graph, iterations=200):
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    for _ in range(20):
        graph.replay()
    times = []
    for _ in range(iterations):
        start.record(); graph.replay(); stop.record(); stop.synchronize()
        times.append(start.elapsed_time(stop))
    times.sort()
    return times[len(times) // 2]

def capture(body):
    s = torch.cuda.Stream()
    with torch.cuda.stream(s):
        body()
    torch.cuda.synchronize()
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        body()
    return g

def heavy_load(seconds):
    a = torch.randn(8192, 8192, device="cuda", dtype=torch.float16)
    end = time.time() + seconds
    while time.time() < end:
        a @ a
    torch.cuda.synchronize()

nodes = 89
tiny = torch.zeros(1, device="cuda")
src = torch.randn(256 * 1024, device="cuda")
dst = torch.empty_like(src)
graphs = {
    "tiny_add": capture(lambda: [tiny.add_(1) for _ in range(nodes)]),
    "copy_1MiB": capture(lambda: [dst.copy_(src) for _ in range(nodes)]),
}
for label, warm in (("cold", 0), ("after_2s_load", 2)):
    if warm:
        heavy_load(warm)
    for name, g in graphs.items():
        ms = replay_ms(g)
        print(f"FLOOR {label} {name}: {nodes} nodes {ms:.4f} ms = {1000 * ms / nodes:.2f} us/node")
sys.stdout.flush()
