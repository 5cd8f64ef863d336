"""Tagging objective: batches and label masks, and a tiny model that actually learns to tag."""

import random
from collections import Counter

import pytest
import torch

from xlpt.config import load_config
from xlpt.data.examples import TaggedSentence
from xlpt.models.build import load_task_model
from xlpt.models.loading import load_causal_lm
from xlpt.tasks import get_task

UPOS_TAGS = get_task('udpos').labels
from xlpt.tasks.word_alignment import IGNORE, encode_tagged
from xlpt.training.loop import train
from xlpt.tasks.collate import collate_windows
from xlpt.training.tagging_objective import TaggingObjective, tagging_loss

# Tags determined by the word itself (a lexicon), so a model that can tell words apart can learn them.
LEXICON = {
    "the": "DET", "a": "DET", "cat": "NOUN", "dog": "NOUN", "house": "NOUN", "chair": "NOUN", "window": "NOUN",
    "sleeps": "VERB", "walks": "VERB", "runs": "VERB", "red": "ADJ", "warm": "ADJ", "on": "ADP", "near": "ADP",
    ".": "PUNCT",
}


def _sentences(n, seed, lang="en"):
    rng = random.Random(seed)
    words = list(LEXICON)
    out = []
    for i in range(n):
        chosen = tuple(rng.choice(words) for _ in range(rng.randint(3, 8)))
        out.append(TaggedSentence(chosen, tuple(LEXICON[w] for w in chosen), lang, f"{lang}-{seed}-{i}"))
    return out


def _cfg(method, lr, steps, model_dir="unused/model"):
    settings = ["method.prompt_length=4"] if method in ("prompt_tuning", "prefix_tuning") else []
    return load_config(None, [f"model.name={model_dir}", "data.task=udpos", f"method.name={method}",
                              f"train.learning_rate={lr}", f"train.max_steps={steps}", "train.batch_size=8",
                              f"train.eval_every={steps}", "train.log_every=1000", "train.warmup_ratio=0.0"]
                       + settings)


def test_collate_masks_empty_word_slots(tiny_model_dir):
    _, tokenizer = load_causal_lm(tiny_model_dir, device="cpu")
    sentences = _sentences(4, seed=1)
    windows, _ = encode_tagged(sentences, tokenizer, UPOS_TAGS, 64)
    batch = collate_windows(windows, [0, 1, 2, 3], tokenizer.pad_token_id)
    width = max(len(s.words) for s in sentences)
    assert batch["labels"].shape == (4, width)
    for row, sentence in enumerate(sentences):
        n = len(sentence.words)
        assert batch["labels"][row, :n].tolist() == [UPOS_TAGS.index(t) for t in sentence.tags]
        assert batch["labels"][row, n:].eq(IGNORE).all()
        assert int(batch["attention_mask"][row].sum()) == len(windows[row].input_ids)


def test_loss_ignores_masked_slots():
    logits = torch.randn(2, 3, 5)
    labels = torch.tensor([[1, IGNORE, 2], [IGNORE, IGNORE, 4]])
    changed = logits.clone()
    changed[labels == IGNORE] = 1000.0
    assert torch.equal(tagging_loss(logits, labels), tagging_loss(changed, labels))


def _learn(tiny_model_dir, tmp_path, method, lr, steps=60):
    """Train on 200 random lexicon sentences; dev scores before/after, the majority-tag baseline, and the
    backbone/trainable tensors before training."""
    torch.manual_seed(0)
    cfg = _cfg(method, lr, steps, tiny_model_dir)
    model, tokenizer = load_task_model(cfg, device="cpu")
    backbone = {k: v.clone() for k, v in model.backbone.state_dict().items()}
    trainable = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
    dev = _sentences(40, seed=2)
    objective = TaggingObjective.from_examples(get_task("udpos"), cfg, tokenizer, _sentences(200, seed=1), dev,
                                               log=lambda m: None)
    before = objective.dev_score(model)
    summary = train(model, objective, cfg.train, lr, tmp_path, torch.device("cpu"), log=lambda m: None,
                    progress=False)
    tags = Counter(t for s in dev for t in s.tags)
    return {"before": before, "after": objective.dev_score(model), "majority": max(tags.values()) / sum(tags.values()),
            "steps": summary.steps, "model": model, "backbone": backbone, "trainable": trainable}


def test_prompt_tuning_learns_lexical_tags_and_leaves_the_model_untouched(tiny_model_dir, tmp_path):
    run = _learn(tiny_model_dir, tmp_path, "prompt_tuning", lr=0.1)
    assert run["steps"] == 60
    assert run["after"] > run["majority"] + 0.3 and run["after"] > run["before"] + 0.3, run
    model = run["model"]
    for name, tensor in model.backbone.state_dict().items():
        assert torch.equal(tensor, run["backbone"][name]), name
    assert set(run["trainable"]) == {"prompt.weight", "head.weight", "head.bias"}
    assert not torch.equal(model.prompt.weight, run["trainable"]["prompt.weight"])  # the prompt did train


def test_full_finetuning_learns_lexical_tags(tiny_model_dir, tmp_path):
    run = _learn(tiny_model_dir, tmp_path, "full_finetune", lr=1e-3)
    assert run["after"] > run["majority"] + 0.3 and run["after"] > run["before"] + 0.3, run
    changed = [n for n, t in run["model"].backbone.state_dict().items() if not torch.equal(t, run["backbone"][n])]
    assert changed


def test_long_training_sentences_are_split_not_dropped(tiny_model_dir):
    _, tokenizer = load_causal_lm(tiny_model_dir, device="cpu")
    long = TaggedSentence(tuple(["cat"] * 100), tuple(["NOUN"] * 100), "en", "long")
    cfg = _cfg("prompt_tuning", 0.1, 1)
    cfg.data.max_length = 32
    logs = []
    objective = TaggingObjective.from_examples(get_task("udpos"), cfg, tokenizer, [long], [long], log=logs.append)
    assert len(objective.train_windows) > 3 and max(objective.train_lengths()) <= 32
    assert sum(len(w.words) for w in objective.train_windows) == 100
    assert any("1 long sentences split" in line for line in logs)


@pytest.mark.parametrize("task,gold,constant,expected", [
    ("udpos", ("NOUN", "VERB", "DET"), "NOUN", 1 / 3),  # word accuracy
    ("panx", ("B-PER", "O", "O"), "O", 0.0),  # entity F1 (word accuracy would be 2/3)
])
def test_dev_score_is_the_headline_metric(tiny_model_dir, task, gold, constant, expected):
    cfg = _cfg("prompt_tuning", 0.1, 1, tiny_model_dir)
    cfg.data.task = task
    model, tokenizer = load_task_model(cfg, device="cpu")
    dev = [TaggedSentence(("cat", "dog", "the"), gold, "en", "d")]
    objective = TaggingObjective.from_examples(get_task(task), cfg, tokenizer, dev, dev, log=lambda m: None)
    with torch.no_grad():  # the head now predicts `constant` for every word
        model.head.weight.zero_()
        model.head.bias.fill_(0.0)
        model.head.bias[get_task(task).labels.index(constant)] = 1.0
    assert objective.dev_score(model) == pytest.approx(expected)
