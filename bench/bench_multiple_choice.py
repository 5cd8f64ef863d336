"""Multiple-choice zero-shot speed and parity: xlpt's scorer vs lm-evaluation-harness's `multiple_choice`.

Same model object, same rows, same process; the two alternate. Tasks:
- `xcopa:<lang>` (2 choices): real XCOPA test rows from the shared data folder; lm-eval's own
  `xcopa_<lang>` YAML (its `!function` prompt code) reading those rows through the HF `json` builder.
- `belebele:<lang>` (4 choices): belebele-shaped rows generated here from real FLORES-200 sentences
  (the SIB-200 files: a passage of consecutive sentences, a question, four short answers), written
  once under /tmp; lm-eval's own `belebele_<lang>` YAML reads the same file (no belebele data is stored
  locally). Its single-token choices (" A".." D") let lm-eval run one forward per example (its
  one-token-continuation grouping), which is its strongest case.

lm-eval side: the requests lm-eval built (`Task.build_all_requests`), timed call `HFLM.loglikelihood`
(tokenization + scoring) at each of `--lm-eval-batch-sizes`; the first round screens every size, later
rounds time the fastest (by CPU) against xlpt. xlpt side: the family's zero-shot evaluator
(`MultipleChoiceFamily.zero_shot`: encoding + scoring + metrics) on the same rows.

Printed per task: median CPU and wall seconds, the ratio lm-eval / xlpt (> 1: xlpt faster), the FLOP
bound (lm-eval's matmul FLOPs / xlpt's for these rows: body 2 x 12 L d^2 per token read, LM head 2 V d
per position whose log-softmax is taken; padding and attention scores ignored), the prediction
agreement (argmax log-likelihood, and each task's metric) and the largest |delta log-lik|.

    python bench/bench_multiple_choice.py --task xcopa:et --n 48                      # tiny shape, seconds
    python bench/bench_multiple_choice.py --shape 564m --task xcopa:et --n 48         # XGLM-564M shape
    python bench/bench_multiple_choice.py --shape 564m --task belebele:eng_Latn --n 12 --lm-eval-batch-sizes 1,2,4,8
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import workload  # noqa: E402  (sets the OpenMP wait policy before torch starts)

import torch  # noqa: E402

import lm_eval_local  # noqa: E402  (bench/ is not a package)

WORK = Path("/tmp/xlpt-bench-mc")
XCOPA_KEYS = ("premise", "choice1", "choice2", "question", "label", "idx")
BELEBELE_KEYS = ("flores_passage", "question", "mc_answer1", "mc_answer2", "mc_answer3", "mc_answer4",
                 "correct_answer_num")
QUESTIONS = ("According to the passage, which of the following is true about {w}?",
             "What does the passage say about {w}?", "Which statement about {w} is supported by the passage?",
             "Based on the passage, what is the most likely reason for {w}?")


def xcopa_rows(lang: str, n: int) -> tuple[Path, Path]:
    """(data folder xlpt reads, lm-eval's json file): the first n XCOPA test rows of `lang`, hub keys only."""
    source = workload.DATA_DIR / "xcopa" / lang / "xcopa-github" / "test.jsonl"
    rows = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines()][:n]
    out = WORK / f"xcopa-{lang}-{n}.jsonl"
    WORK.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps({k: r[k] for k in XCOPA_KEYS}, ensure_ascii=False) + "\n" for r in rows))
    return workload.DATA_DIR, out


def belebele_rows(lang: str, n: int, seed: int = 0) -> tuple[Path, Path]:
    """Belebele-shaped rows from real FLORES-200 sentences (SIB-200's files for `lang`): a passage of 4
    consecutive sentences (~100 words, as belebele's), a question naming a word of it, four answers of 4-10
    words taken from other sentences; correct_answer_num is drawn. Written as data/belebele/<lang>/test.jsonl."""
    import csv

    sentences = []
    for split in ("train", "dev", "test"):
        with open(workload.DATA_DIR / "sib200" / lang / "sib200-github" / f"{split}.tsv", encoding="utf-8") as f:
            sentences += [row["text"] for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)]
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        at = rng.randrange(len(sentences) - 4)
        passage = " ".join(sentences[at : at + 4])
        word = max(passage.split()[:12], key=len).strip(".,;:")
        answers = []
        for _ in range(4):
            words = sentences[rng.randrange(len(sentences))].rstrip(".").split()
            start = rng.randrange(max(1, len(words) - 4))
            answers.append(" ".join(words[start : start + rng.randint(4, 10)]))
        rows.append(dict(zip(BELEBELE_KEYS, [passage, QUESTIONS[i % len(QUESTIONS)].format(w=word), *answers,
                                             str(rng.randint(1, 4))])))
    folder = WORK / "data"
    out = folder / "belebele" / lang / "test.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return folder, out


def lm_eval_config(task: str, lang: str, file: Path) -> dict:
    """lm-eval's installed YAML for the task/language (its own loader), reading `file` as its test split."""
    import datasets
    from lm_eval.tasks._yaml_loader import load_yaml

    yaml_path = {"xcopa": f"xcopa/default_{lang}.yaml", "belebele": f"belebele/belebele_{lang}.yaml"}[task]
    cfg = load_yaml(lm_eval_local.lm_eval_tasks_dir() / yaml_path)
    text = datasets.Value("string")
    if task == "xcopa":
        features = {k: text for k in XCOPA_KEYS[:4]}
        features.update(label=datasets.Value("int64"), idx=datasets.Value("int64"))
    else:
        features = {k: text for k in BELEBELE_KEYS}
    kwargs = {"data_files": {"test": str(file)}, "features": datasets.Features(features),
              "cache_dir": str(WORK / "hf-datasets")}
    cfg.update(dataset_path="json", dataset_name=None, dataset_kwargs=kwargs, training_split=None,
               validation_split=None, test_split="test", fewshot_split=None)
    cfg.pop("fewshot_config", None)
    return cfg


def flop_bound(items, layers: int, d: int, vocab: int) -> tuple[float, dict]:
    """lm-eval's matmul FLOPs / xlpt's for these encoded examples (see the module docstring).

    lm-eval: one input per choice (context + continuation minus its last token), identical inputs read once
    (its one-token-continuation grouping), the full-vocabulary log-softmax at every input position.
    xlpt: the choices' common token prefix once, then each choice's own input tokens; the head only at
    distinct scored positions (evaluation.loglikelihood.plan_group: the plan's own counts)."""
    from xlpt.evaluation.loglikelihood import Scored, plan_group

    body, head = 2 * 12 * layers * d * d, 2 * vocab * d
    theirs = ours = 0
    counts = {"lm_eval_tokens": 0, "xlpt_tokens": 0, "xlpt_head_rows": 0}
    for item in items:
        inputs = {c.tokens[:-1] for c in item.choices}
        tokens = sum(len(x) for x in inputs)
        theirs += tokens * (body + head)
        plan = plan_group(0, [Scored(c.tokens, c.start) for c in item.choices])
        read, rows = plan.tokens_read, plan.head_positions
        ours += read * body + rows * head
        counts["lm_eval_tokens"] += tokens
        counts["xlpt_tokens"] += read
        counts["xlpt_head_rows"] += rows
    return theirs / ours, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    workload.add_shape_arguments(parser)
    parser.add_argument("--task", default="xcopa:et", help="xcopa:<lang> (real test rows) or belebele:<lang> "
                        "(generated belebele-shaped rows from FLORES sentences)")
    parser.add_argument("--n", type=int, default=48, help="examples")
    parser.add_argument("--lm-eval-batch-sizes", default="4,8,16,32",
                        help="HFLM batch sizes screened in the first round (its default is 1)")
    parser.add_argument("--token-budget", type=int, default=8192, help="xlpt: padded tokens per forward "
                        "(8192 = its default, eval_batch_size 32 x max_length 256)")
    parser.add_argument("--json", help="also write the numbers to this file")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    task_name, lang = args.task.split(":")

    from xlpt.data.sources import TaskData
    from xlpt.models.backbone import Backbone
    from xlpt.tasks import get_task

    tok = workload.tokenizer()
    lm = workload.make_lm(args.shape, args.layers, tok)
    backbone = Backbone(lm)
    harness = lm_eval_local.hf_model(workload.TOKENIZER_DIR, model=lm)  # same weights object on both sides
    data_dir, file = (xcopa_rows if task_name == "xcopa" else belebele_rows)(lang, args.n)
    cfg_lm_eval = lm_eval_config(task_name, lang, file)
    requests = lm_eval_local.build_requests([cfg_lm_eval])
    spec = get_task(task_name)
    examples = TaskData(spec, data_dir).load(lang, "test").examples[: args.n]
    family = spec.family_record.load()
    cfg = workload.run_config("zero_shot", f"data.task={task_name}")
    items, _ = family.encode(spec, tok, cfg, examples)

    def run_xlpt():
        return family.zero_shot(spec, backbone, tok, cfg, examples, False, "bench", token_budget=args.token_budget)[1]

    timings = workload.Timings()
    sizes = [int(b) for b in args.lm_eval_batch_sizes.split(",")]
    screen = {}
    for b in sizes:  # round 0: every batch size once (also the warm-up), then xlpt once
        harness.batch_size_per_gpu = b
        timings.timed(f"screen_bs{b}", lm_eval_local.score_requests, harness, requests)
        screen[b] = timings.median(f"screen_bs{b}")
    timings.timed("xlpt_warmup", run_xlpt)
    best = min(screen, key=screen.get)
    harness.batch_size_per_gpu = best
    peer = f"lm_eval_bs{best}"
    theirs = ours = None
    for _ in range(args.rounds):
        theirs = timings.timed(peer, lm_eval_local.score_requests, harness, requests)
        ours = timings.timed("xlpt", run_xlpt)

    name = cfg_lm_eval["task"]
    agree = agree_metric = 0
    gap = 0.0
    from xlpt.evaluation.multiple_choice import predictions

    for i, (record, item) in enumerate(zip(ours, items)):
        row = theirs[(name, i)]
        mine = list(record["loglik"].values())
        gap = max(gap, max(abs(a - b) for a, b in zip(mine, row)))
        agree += predictions(item, mine)["accuracy"] == predictions(item, row)["accuracy"]
        agree_metric += predictions(item, mine)[spec.metric] == predictions(item, row)[spec.metric]
    bound, counts = flop_bound(items, lm.config.num_layers, lm.config.d_model, lm.config.vocab_size)
    print(f"{workload.describe_machine(args.threads)}")
    print(f"shape {args.shape} ({lm.config.num_layers} layers, d {lm.config.d_model}, vocab {lm.config.vocab_size:,}); "
          f"{args.task} {len(ours)} examples x {len(items[0].choices)} choices; tokens read: lm-eval "
          f"{counts['lm_eval_tokens']} (all through the LM head), xlpt {counts['xlpt_tokens']} "
          f"({counts['xlpt_head_rows']} through the LM head)")
    print("  lm-eval screening (CPU s): " + ", ".join(f"bs{b} {s:.2f}" for b, s in screen.items())
          + f" -> bs{best}")
    print("  " + timings.line("xlpt", peer))
    print(f"  speed-up {timings.ratio(peer, 'xlpt'):.2f}x CPU, {timings.ratio(peer, 'xlpt', 'wall'):.2f}x wall; "
          f"FLOP bound {bound:.2f}x; predictions agree {agree}/{len(ours)} (acc), {agree_metric}/{len(ours)} "
          f"({spec.metric}); max |delta log-lik| {gap:.1e}; load {open('/proc/loadavg').read().split()[:3]}")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "task": args.task, "shape": args.shape, "layers": lm.config.num_layers, "n": len(ours),
            "lm_eval_batch_size": best, "screen_cpu_s": screen, **timings.summary("xlpt", peer),
            "flop_bound": bound, **counts, "agree": agree, "max_abs_delta_loglik": gap}, indent=2))


if __name__ == "__main__":
    main()
