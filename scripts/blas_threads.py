"""Time a small MLP's training step with 1 and with N OpenBLAS threads, each in its own process.

    python scripts/blas_threads.py              # 1 vs 2 threads, 300 steps each
    python scripts/blas_threads.py --threads 1 4 --steps 500

The model: scikit-learn's digits (1797 x 64), 64 -> 128 -> ReLU -> 10, cross-entropy,
full-batch Adam, with autograd_lite and nn. OPENBLAS_NUM_THREADS must be set before NumPy
is loaded, hence one child process per setting. Prints wall and CPU seconds per step.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time


def child(steps: int) -> None:
    import numpy as np
    from sklearn.datasets import load_digits

    import nn

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(64, 128, rng=rng), nn.ReLU(), nn.Linear(128, 10, rng=rng))
    loss_fn, optimizer = nn.CrossEntropyLoss(), nn.optim.Adam(model.parameters(), lr=0.01)

    def step() -> float:
        optimizer.zero_grad()
        loss = loss_fn(model(X), y)
        loss.backward()
        optimizer.step()
        return loss.item()

    for _ in range(10):  # warm-up: thread pool started, caches filled
        step()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(steps):
        loss = step()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(json.dumps({"wall_ms": 1000 * wall / steps, "cpu_ms": 1000 * cpu / steps, "loss": loss}))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    if arguments.child:
        child(arguments.steps)
        return 0
    print(f"digits MLP 64-128-10, full batch (1797), Adam; {arguments.steps} steps; {os.cpu_count()} CPUs")
    for threads in arguments.threads:
        environment = {**os.environ, "OPENBLAS_NUM_THREADS": str(threads), "OMP_NUM_THREADS": str(threads),
                       "MKL_NUM_THREADS": str(threads)}
        completed = subprocess.run([sys.executable, __file__, "--child", "--steps", str(arguments.steps)],
                                   env=environment, capture_output=True, text=True, check=True)
        result = json.loads(completed.stdout)
        print(f"OPENBLAS_NUM_THREADS={threads}: {result['wall_ms']:.2f} ms per step (wall), "
              f"{result['cpu_ms']:.2f} ms CPU; final loss {result['loss']:.6f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
