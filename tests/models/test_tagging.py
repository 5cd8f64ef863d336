"""WordTagger: which positions are read, that nothing else can reach the loss, and how it is built."""

import pytest
import torch

from xlpt.config import load_config
from xlpt.data.examples import TaggedSentence
from xlpt.models.build import load_task_model
from xlpt.tasks import get_task

PANX_TAGS = get_task('panx').labels
UPOS_TAGS = get_task('udpos').labels
from xlpt.tasks.word_alignment import IGNORE, encode_tagged
from xlpt.tasks.collate import collate_windows
from xlpt.training.tagging_objective import tagging_loss


HEAD_KEYS = {"formulation": "head", "word_repr": "head"}  # the run config's head section


def _model(tiny_model_dir, task="udpos", method="prompt_tuning", **options):
    cfg = load_config(None, [f"model.name={tiny_model_dir}", f"data.task={task}", f"method.name={method}"]
                      + [f"{HEAD_KEYS.get(key, 'method')}.{key}={value}" for key, value in options.items()])
    model, tokenizer = load_task_model(cfg, device="cpu")
    model.eval()
    return model, tokenizer


SENTENCES = [
    TaggedSentence(("The", "cat", "sleeps", "on", "the", "warm", "chair", "."),
                   ("DET", "NOUN", "VERB", "ADP", "DET", "ADJ", "NOUN", "PUNCT"), "en", "a"),
    TaggedSentence(("A", "dog", "."), ("DET", "NOUN", "PUNCT"), "en", "b"),
]


def _batch(tokenizer, sentences=SENTENCES, max_length=64):
    windows, _ = encode_tagged(sentences, tokenizer, UPOS_TAGS, max_length)
    return windows, collate_windows(windows, list(range(len(windows))), tokenizer.pad_token_id)


@pytest.mark.parametrize("task,tags", [("udpos", UPOS_TAGS), ("panx", PANX_TAGS)])
def test_build_gives_one_output_per_tag_and_the_configured_layout(tiny_model_dir, task, tags):
    model, _ = _model(tiny_model_dir, task=task, prompt_position="start", word_repr="mean")
    assert model.head.out_features == len(tags)
    assert model.prompt_position == "start" and model.word_repr == "mean"
    assert all(p.requires_grad for p in model.head.parameters())


def test_prompt_tuning_trains_only_prompt_and_head(tiny_model_dir):
    model, _ = _model(tiny_model_dir, method="prompt_tuning", prompt_length=4)
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"prompt.weight", "head.weight", "head.bias"}
    full, _ = _model(tiny_model_dir, method="full_finetune")
    assert all(p.requires_grad for p in full.parameters())


@pytest.mark.parametrize("position", ["after_bos", "start"])
@pytest.mark.parametrize("word_repr", ["last", "first", "mean"])
def test_read_positions_skip_the_prompt(tiny_model_dir, position, word_repr):
    model, tokenizer = _model(tiny_model_dir, prompt_position=position, word_repr=word_repr, prompt_length=5)
    windows, batch = _batch(tokenizer)
    first, last = model.read_positions(batch["word_start"], batch["word_end"])
    for row, window in enumerate(windows):
        for slot, (start, end) in enumerate(window.spans):
            expect_first = start + 5 if word_repr != "last" else end - 1 + 5
            expect_last = end - 1 + 5 if word_repr != "first" else start + 5
            assert (int(first[row, slot]), int(last[row, slot])) == (expect_first, expect_last)


def _loss_and_hidden_grad(model, batch):
    """Loss with the hidden states as a leaf tensor, and d(loss)/d(hidden)."""
    hidden = model.hidden(batch["input_ids"], batch["attention_mask"]).detach().requires_grad_(True)
    logits = model.head(model.word_states(hidden, batch["word_start"], batch["word_end"]))
    loss = tagging_loss(logits, batch["labels"])
    loss.backward()
    return loss.detach(), hidden.grad


@pytest.mark.parametrize("word_repr", ["last", "first", "mean"])
def test_only_chosen_subwords_of_labeled_words_reach_the_loss(tiny_model_dir, word_repr):
    model, tokenizer = _model(tiny_model_dir, word_repr=word_repr, prompt_length=5)
    windows, batch = _batch(tokenizer)
    assert batch["labels"][1, 3:].eq(IGNORE).all()  # the short window's empty word slots
    loss, grad = _loss_and_hidden_grad(model, batch)
    touched = grad.abs().sum(-1) > 0  # (B, T_full)
    expected = torch.zeros_like(touched)
    for row, window in enumerate(windows):
        for start, end in window.spans:
            chosen = {"last": [end - 1], "first": [start], "mean": list(range(start, end))}[word_repr]
            expected[row, [p + 5 for p in chosen]] = True
    assert torch.equal(touched, expected)
    # prompt positions (1..5), padding and </s> never reach the loss
    assert not touched[:, :6].any()
    assert not touched[1, 5 + int(batch["attention_mask"][1].sum()):].any()
    if word_repr == "last":  # the test sentences contain multi-subword words whose other pieces are skipped
        assert int(expected.sum()) < int(batch["attention_mask"].sum()) - len(windows)


def test_changing_unread_hidden_states_cannot_change_the_loss(tiny_model_dir):
    model, tokenizer = _model(tiny_model_dir, prompt_length=5)
    _, batch = _batch(tokenizer)
    hidden = model.hidden(batch["input_ids"], batch["attention_mask"]).detach()
    first, last = model.read_positions(batch["word_start"], batch["word_end"])
    read = torch.zeros(hidden.shape[:2], dtype=torch.bool)
    labeled = batch["labels"] != IGNORE
    read[torch.arange(hidden.shape[0]).unsqueeze(1).expand_as(last)[labeled], last[labeled]] = True

    def loss_of(h):
        return tagging_loss(model.head(model.word_states(h, batch["word_start"], batch["word_end"])), batch["labels"])

    noisy = torch.where(read.unsqueeze(-1), hidden, torch.randn_like(hidden) * 100)
    assert torch.equal(loss_of(hidden), loss_of(noisy))
    changed = hidden.clone()
    changed[read] += 1.0
    assert not torch.equal(loss_of(hidden), loss_of(changed))


def test_mean_is_the_average_of_the_word_pieces(tiny_model_dir):
    model, tokenizer = _model(tiny_model_dir, word_repr="mean", prompt_length=3)
    windows, batch = _batch(tokenizer)
    hidden = model.hidden(batch["input_ids"], batch["attention_mask"])
    states = model.word_states(hidden, batch["word_start"], batch["word_end"])
    for slot, (start, end) in enumerate(windows[0].spans):
        assert torch.allclose(states[0, slot], hidden[0, start + 3 : end + 3].mean(0), atol=1e-6)


@pytest.mark.parametrize("method", ["prompt_tuning", "full_finetune"])
def test_padding_and_batching_do_not_change_scores(tiny_model_dir, method):
    model, tokenizer = _model(tiny_model_dir, method=method)
    windows, batch = _batch(tokenizer)
    with torch.no_grad():
        together = model(batch["input_ids"], batch["attention_mask"], batch["word_start"], batch["word_end"])
        short = collate_windows(windows, [1], tokenizer.pad_token_id)
        alone = model(short["input_ids"], short["attention_mask"], short["word_start"], short["word_end"])
    assert torch.allclose(together[1, :3], alone[0], atol=1e-5)


@pytest.mark.parametrize("method", ["prompt_tuning", "prefix_tuning", "lora", "full_finetune", "head_only"])
def test_every_method_trains_the_tag_head_and_its_own_parameters(tiny_model_dir, method):
    settings = {"prompt_length": 4} if method in ("prompt_tuning", "prefix_tuning") else {}
    model, tokenizer = _model(tiny_model_dir, method=method, **settings)
    model.train()
    _, batch = _batch(tokenizer)
    logits = model(batch["input_ids"], batch["attention_mask"], batch["word_start"], batch["word_end"])
    assert logits.shape == (*batch["labels"].shape, len(UPOS_TAGS))
    tagging_loss(logits, batch["labels"]).backward()
    trainable = {name: p for name, p in model.named_parameters() if p.requires_grad}
    assert {"head.weight", "head.bias"} <= set(trainable)
    for name, p in trainable.items():
        if "lora_A" in name:  # LoRA's B starts at zero, so A gets no gradient on the first step (by design)
            continue
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    frozen = [p for p in model.backbone.parameters() if not p.requires_grad]
    assert all(p.grad is None for p in frozen)
    if method in ("prompt_tuning", "prefix_tuning", "head_only"):
        assert len(frozen) == len(list(model.backbone.parameters()))

