"""The dry run's estimate is the same number whether measured once and shared (EstimateCache, the regex
heuristic) or recomputed for every run and language the way it was before (every split read from the folder,
every mean measured again; on SIB-200's dense scripts also with the per-character heuristic)."""

from __future__ import annotations

import math
import random
from dataclasses import asdict

import pytest

from xlpt.config import load_config
from xlpt.data.loading import load_split
from xlpt.sweeps import estimate as E
from xlpt.tasks import get_task


def reference_heuristic(text: str) -> int:
    """The heuristic as first written: a per-character loop over the ranges."""
    dense = sum(1 for ch in text if any(lo <= ord(ch) <= hi for lo, hi in E._DENSE_RANGES))
    return math.ceil(dense / E.DENSE_CHARS_PER_TOKEN + (len(text) - dense) / E.CHARS_PER_TOKEN) + E.SPECIAL_TOKENS


class Uncached(E.EstimateCache):
    """Nothing shared: the folder discovered for every run, each split read through `load_split` from the
    folder, each mean measured by the reference `mean_tokens` with the per-character heuristic."""

    def task_data(self, task, data_dir):
        from xlpt.data.sources import TaskData

        return TaskData(task, data_dir)

    def split_sample(self, data, lang, split):
        return E.sample_split(load_split(data.task, lang, split, data.data_dir).examples)

    def mean_tokens(self, cfg, data, lang, split, zero_shot=False):
        return E.mean_tokens(cfg, data.task, self.split_sample(data, lang, split)[2], zero_shot)


@pytest.fixture
def reference_heuristic_in_place(monkeypatch):
    monkeypatch.setattr(E, "heuristic_lengths", lambda texts: [reference_heuristic(t) for t in texts])


def _edges() -> list[str]:
    chars = []
    for lo, hi in E._DENSE_RANGES:
        chars += [chr(lo - 1), chr(lo), chr(lo + 1), chr(hi - 1), chr(hi), chr(hi + 1)]
    return chars


def test_the_regex_heuristic_equals_the_per_character_loop():
    rng = random.Random(0)
    alphabet = _edges() + list("abc xyz.,!")
    alphabet += ["é", "ж", "ع", "क", "ไ", "😀", "\U00020000", "\u3000", "\n", "\t"]
    texts = ["", "a", "猫", "한국어 문장", "日本語のテキスト", "Mixed 中文 and English"]
    texts.append("".join(_edges()))
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 300))) for _ in range(2000)]
    texts += ["".join(chr(rng.randint(1, 0x2FFFF)) for _ in range(rng.randint(0, 200))) for _ in range(500)]
    texts = [t for t in texts if not any(0xD800 <= ord(c) <= 0xDFFF for c in t)]
    assert [E.heuristic_tokens(t) for t in texts] == [reference_heuristic(t) for t in texts]
    assert E.heuristic_lengths(texts) == [reference_heuristic(t) for t in texts]


def _configs(workspace, model: str, languages: str | None = None, task: str = "pawsx", data_dir=None):
    base = [f"model.name={model}", f"data.task={task}", f"data.data_dir={data_dir or workspace / 'data'}",
            "train.max_steps=30", "data.max_eval_examples=20"]
    if languages:
        base.append(f"data.eval_languages={languages}")
    variants = [["method.name=prompt_tuning", "method.prompt_length=4", "train.seed=1"],
                ["method.name=prompt_tuning", "method.prompt_length=4", "train.seed=2"],
                ["method.name=prompt_tuning", "method.prompt_length=9"],
                ["method.name=full_finetune"], ["method.name=lora"], ["method.name=zero_shot"],
                ["method.name=full_finetune", "data.max_length=24"],
                ["method.name=full_finetune", "train.max_steps=null", "train.epochs=2"]]
    return [load_config([], overrides=base + extra) for extra in variants]


def _shared_vs_reference(cfgs):
    cache = E.EstimateCache()
    for cfg in cfgs:
        task = get_task(cfg.data.task)
        shared = E.estimate(cfg, task, cache)
        reference = E.estimate(cfg, task, Uncached())
        assert asdict(shared) == asdict(reference), cfg.method.name
        assert shared.error == "" and shared.eval_tokens > 0


@pytest.mark.parametrize("tokenizer", [True, False], ids=["tokenizer", "heuristic"])
def test_shared_estimates_equal_the_reference_for_every_run(workspace, tmp_path, tokenizer):
    model = str(workspace / "tiny") if tokenizer else str(tmp_path / "no-such-model")
    cfgs = _configs(workspace, model)
    _shared_vs_reference(cfgs)
    assert E.estimate(cfgs[0], get_task("pawsx")).lengths_from == ("tokenizer" if tokenizer else "heuristic")


def test_a_tagging_task_and_a_template_change_are_not_served_a_stale_mean(workspace):
    cfgs = _configs(workspace, str(workspace / "tiny"), task="udpos")
    _shared_vs_reference(cfgs)
    cache, task = E.EstimateCache(), get_task("pawsx")
    common = [f"model.name={workspace / 'tiny'}", f"data.data_dir={workspace / 'data'}", "data.task=pawsx",
              "method.name=full_finetune", "train.max_steps=30"]
    plain = load_config([], overrides=common)
    other = load_config([], overrides=[*common, 'data.template={template: "{text_a} / {text_b}", label_words: '
                                                '{not_paraphrase: " No", paraphrase: " Yes"}}'])
    first, second = E.estimate(plain, task, cache), E.estimate(other, task, cache)
    assert second.train_tokens < first.train_tokens  # the shorter template's texts are shorter
    assert asdict(second) == asdict(E.estimate(other, task, Uncached()))


def test_sib200_languages_with_dense_scripts_equal_the_reference(workspace, data_dir, tmp_path,
                                                                 reference_heuristic_in_place):
    if not (data_dir / "sib200").is_dir():
        pytest.skip("no SIB-200 in the shared data")
    cfgs = _configs(workspace, str(tmp_path / "no-such-model"), "eng_Latn,zho_Hans,jpn_Jpan,kor_Hang,hin_Deva",
                    task="sib200", data_dir=data_dir)[4:6]  # lora and zero_shot (one text per label)
    _shared_vs_reference(cfgs)


def test_no_local_tokenizer_is_decided_without_loading_transformers(tmp_path, workspace):
    assert not E._may_be_local(str(tmp_path / "missing")) and not E._may_be_local("nobody/no-such-model-xyz")
    assert E._may_be_local(str(workspace / "tiny"))
    assert E.local_tokenizer(str(tmp_path / "missing")) is None
