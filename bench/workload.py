"""What the benches measure on: XGLM-shaped random models, the real 250k tokenizer, real XNLI text, and
how time is taken (contenders alternate in one process; medians and spread are reported).

Shapes (random weights; `--layers N` overrides the layer count):
    tiny   d_model 64, 2 layers, 4 heads, ffn 128 (the test model's shape) with the real 250k vocabulary
    564m   d_model 1024, 24 layers, 16 heads, ffn 4096: facebook/xglm-564M
Dropout is 0 in every shape, for every contender (XGLM-564M's own config has 0.1; with dropout on,
xlpt computes a soft prompt per row, as PEFT does, and its prompt-tuning advantage shrinks accordingly).

Time. Each unit of work is timed twice: wall-clock seconds and the process's CPU seconds (all threads).
On a machine shared with other jobs, wall time mostly measures waiting for a core; CPU time measures the
work, so ratios are computed from CPU-time medians and wall times are shown beside them. OpenMP threads
are told to sleep rather than spin while they wait (OMP_WAIT_POLICY=PASSIVE, set here before torch
starts), so a waiting thread does not count as work. Import this module before torch.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("TQDM_DISABLE", "1")  # the peers' progress bars would bury the results

import torch  # noqa: E402  (after the OpenMP setting)

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
TOKENIZER_DIR = Path(os.environ.get("XLPT_TOKENIZER_DIR", SHARED / "tokenizers" / "xlmr-250k"))
DATA_DIR = Path(os.environ.get("XLPT_DATA_DIR", SHARED / "data"))

SHAPES = {
    "tiny": dict(d_model=64, num_layers=2, attention_heads=4, ffn_dim=128),
    "564m": dict(d_model=1024, num_layers=24, attention_heads=16, ffn_dim=4096),
}


def add_shape_arguments(parser) -> None:
    parser.add_argument("--shape", choices=sorted(SHAPES), default="tiny", help="model shape (default tiny)")
    parser.add_argument("--layers", type=int, help="override the shape's number of layers")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    parser.add_argument("--rounds", type=int, default=3, help="alternations of the contenders (default 3)")


def tokenizer():
    from xlpt.models.tokenizer import load_tokenizer

    if not (TOKENIZER_DIR / "tokenizer.json").exists():
        raise SystemExit(f"the real tokenizer is not at {TOKENIZER_DIR} (set XLPT_TOKENIZER_DIR)")
    return load_tokenizer(TOKENIZER_DIR)


def make_lm(shape: str, layers: int | None, tok, seed: int = 0):
    """A random XGLMForCausalLM of `shape` with the tokenizer's vocabulary, in eval mode, dropout 0."""
    from transformers import XGLMConfig, XGLMForCausalLM

    dims = dict(SHAPES[shape])
    if layers:
        dims["num_layers"] = layers
    config = XGLMConfig(vocab_size=len(tok), max_position_embeddings=2048, dropout=0.0, attention_dropout=0.0,
                        activation_dropout=0.0, pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id,
                        eos_token_id=tok.eos_token_id, **dims)
    torch.manual_seed(seed)
    return XGLMForCausalLM(config).eval()


def dims(shape: str, layers: int | None = None) -> dict:
    """The shape's dimensions, `layers` overriding its layer count."""
    out = dict(SHAPES[shape])
    if layers:
        out["num_layers"] = layers
    return out


def forward_macs(dims: dict, length: int, head_rows: int, head_positions: int, batch: int = 1) -> float:
    """Multiply-adds of one causal forward pass over `length` real tokens: per layer the four attention
    projections and the two FFN matrices at every position, causal scores and weighted sums (position t
    attends to t + 1 positions), then an LM head of `head_rows` rows at `head_positions` positions. What a
    FLOP bound counts (embedding look-ups, norms and softmax are left out: elementwise)."""
    d, ffn, layers = dims["d_model"], dims["ffn_dim"], dims["num_layers"]
    linear = length * (4 * d * d + 2 * d * ffn)
    attention = 2 * d * length * (length + 1) / 2
    return batch * (layers * (linear + attention) + head_positions * head_rows * d)


def xnli_examples(lang: str, split: str, n: int):
    """The first `n` XNLI examples of a language and split, read by xlpt's own loader."""
    from xlpt.data.sources import TaskData
    from xlpt.tasks import get_task

    return TaskData(get_task("xnli"), DATA_DIR).load(lang, split).examples[:n]


def run_config(method: str, *overrides: str):
    """A validated run config for `method` (model.name is a placeholder: benches pass the model object)."""
    from xlpt.config import load_config

    return load_config(None, ["model.name=bench-random-xglm", f"method.name={method}", *overrides])


def describe_machine(threads: int) -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__} with "
            f"{threads} threads, load average {load:.1f} at start")


class Timings:
    """Wall and CPU seconds per unit of work for each contender, collected over alternating rounds."""

    def __init__(self):
        self.samples: dict[str, dict[str, list[float]]] = {}

    def add(self, name: str, wall: float, cpu: float) -> None:
        entry = self.samples.setdefault(name, {"wall": [], "cpu": []})
        entry["wall"].append(wall)
        entry["cpu"].append(cpu)

    def timed(self, name: str, fn, *args):
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn(*args)
        self.add(name, time.perf_counter() - wall, time.process_time() - cpu)
        return result

    def median(self, name: str, kind: str = "cpu") -> float:
        return statistics.median(self.samples[name][kind])

    def spread(self, name: str, kind: str = "cpu") -> str:
        values = self.samples[name][kind]
        return f"{min(values):.3g}-{max(values):.3g}"

    def ratio(self, slower: str, faster: str, kind: str = "cpu") -> float:
        return self.median(slower, kind) / self.median(faster, kind)

    def line(self, ours: str, peer: str) -> str:
        n = len(self.samples[ours]["cpu"])
        return (f"CPU s: {ours} {self.median(ours):.3f} [{self.spread(ours)}], {peer} {self.median(peer):.3f} "
                f"[{self.spread(peer)}], ratio {self.ratio(peer, ours):.2f}x | wall s: {ours} "
                f"{self.median(ours, 'wall'):.3f} [{self.spread(ours, 'wall')}], {peer} {self.median(peer, 'wall'):.3f} "
                f"[{self.spread(peer, 'wall')}], ratio {self.ratio(peer, ours, 'wall'):.2f}x (n={n} each)")

    def summary(self, ours: str, peer: str) -> dict:
        return {"cpu_s": {ours: self.median(ours), peer: self.median(peer)},
                "wall_s": {ours: self.median(ours, "wall"), peer: self.median(peer, "wall")},
                "ratio_cpu": self.ratio(peer, ours), "ratio_wall": self.ratio(peer, ours, "wall"),
                "samples": self.samples}
