"""Memory a training step keeps for backward: eager vs SDPA attention, by sequence length.

Counts the bytes of every tensor autograd saves during one prompt-tuning forward pass (the activation
memory of the step, which is what grows with B x H x S^2 under eager attention), through xlpt's own
model path, for `--lengths` rows of exactly that many tokens. A count, not a timing: the machine's load
does not change it. The same kernels run on a GPU, where this is the peak-memory difference (weights and
optimizer state come on top and are the same for both).

    python bench/bench_memory.py --shape 564m --lengths 65,198
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import workload  # noqa: E402  (bench/ is not a package; sets OpenMP up before torch)

import torch  # noqa: E402


def saved_bytes(model, ids, mask) -> int:
    from xlpt.training.memory import saved_for_backward_bytes

    return saved_for_backward_bytes(lambda: model(ids, mask, mask.sum(1) - 1).sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    workload.add_shape_arguments(parser)
    parser.add_argument("--lengths", default="65,198")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--prompt-length", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from xlpt.models.build import build_task_model
    from xlpt.tasks import get_task

    tok = workload.tokenizer()
    cfg = workload.run_config("prompt_tuning", f"method.prompt_length={args.prompt_length}")
    model = build_task_model(cfg, get_task("xnli"), workload.make_lm(args.shape, args.layers, tok), tok)
    model.train()
    print(f"{args.shape}{f' ({args.layers} layers)' if args.layers else ''}, prompt tuning, batch {args.batch_size}, "
          f"{args.prompt_length} prompt vectors: bytes saved for backward by one forward pass")
    for length in (int(v) for v in args.lengths.split(",")):
        ids = torch.randint(1000, 200_000, (args.batch_size, length))
        ids[:, 0] = tok.eos_token_id  # XGLM's start token, as the tokenizer puts it
        mask = torch.ones_like(ids)
        counts = {}
        for kind in ("eager", "sdpa"):
            model.backbone.use_attention(kind)
            counts[kind] = saved_bytes(model, ids, mask)
        print(f"  {length} tokens (+{args.prompt_length}): eager {counts['eager'] / 2**20:,.0f} MiB, "
              f"sdpa {counts['sdpa'] / 2**20:,.0f} MiB ({counts['eager'] / counts['sdpa']:.2f}x less)", flush=True)


if __name__ == "__main__":
    main()
