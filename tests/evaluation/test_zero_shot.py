"""Zero-shot baseline: per-label texts, the start token, preprocessing and truncation options, and
log-likelihoods that equal a plain Hugging Face forward of the same token sequence."""

import pytest

from xlpt.config import load_config
from xlpt.data.examples import PairExample
from xlpt.data.loading import load_split
from xlpt.errors import ConfigError
from xlpt.evaluation import zero_shot
from xlpt.evaluation.zero_shot import LM_EVAL_OPTIONS, lm_eval_paraphrase_pair
from xlpt.methods.zero_shot import ZeroShotConfig
from xlpt.tasks import get_task


def config(task: str, max_length: int = 256, **options):
    return load_config(None, ["method.name=zero_shot", f"data.task={task}", f"data.max_length={max_length}"]
                       + [f"method.{key}={value}" for key, value in options.items()])


def evaluate_zero_shot(backbone, tokenizer, cfg, examples, progress=False, **options):
    """The method's evaluation with `options` as `method.<key>` settings; `words` passes through."""
    words = options.pop("words", None)
    for key, value in options.items():
        setattr(cfg.method, key, value)
    ZeroShotConfig.model_validate(cfg.method.model_dump())  # an unknown value fails as it would in a config
    return zero_shot.evaluate_zero_shot(backbone, tokenizer, cfg, get_task(cfg.data.task), examples, progress,
                                        words=words)


def candidates(task: str, lang: str, text_a: str, text_b: str):
    return get_task(task).zero_shot.candidates(lang, {"text_a": text_a, "text_b": text_b})


@pytest.fixture(scope="module")
def xnli_en(data_dir):
    return load_split(get_task("xnli"), "en", "dev", data_dir, limit=6).examples


def test_default_scores_the_tokenizers_own_sequence_after_xglm_start_token(tiny_lm, xnli_en, reference_loglik):
    lm, tokenizer, backbone = tiny_lm
    metrics, records = evaluate_zero_shot(backbone, tokenizer, config("xnli"), xnli_en, progress=False)
    assert metrics["scoring"]["prefix_ids"] == [[tokenizer.eos_token_id]] == [[2]]  # XGLM's </s>
    assert metrics["n"] == len(records) == 6 and metrics["truncated"] == 0
    for ex, record in zip(xnli_en, records):
        texts, _ = candidates("xnli", "en", ex.text_a.strip(), ex.text_b.strip())
        want = [reference_loglik(lm, tokenizer(text).input_ids) for text in texts]
        assert list(record["loglik"].values()) == pytest.approx(want, abs=2e-4)
        assert record["pred"] == ("entailment", "neutral", "contradiction")[want.index(max(want))]
        assert record["gold"] == ex.label


def test_bos_prefix_is_lm_evals_and_changes_the_scores(tiny_lm, xnli_en, reference_loglik):
    lm, tokenizer, backbone = tiny_lm
    default, base = evaluate_zero_shot(backbone, tokenizer, config("xnli"), xnli_en[:2], progress=False)
    metrics, records = evaluate_zero_shot(backbone, tokenizer, config("xnli"), xnli_en[:2], progress=False,
                                          prefix_token="bos")
    assert metrics["scoring"]["prefix_ids"] == [[tokenizer.bos_token_id]] == [[0]]
    ex = xnli_en[0]
    texts, _ = candidates("xnli", "en", ex.text_a.strip(), ex.text_b.strip())
    want = [reference_loglik(lm, [0] + tokenizer(t, add_special_tokens=False).input_ids) for t in texts]
    assert list(records[0]["loglik"].values()) == pytest.approx(want, abs=2e-4)
    assert all(abs(records[0]["loglik"][k] - base[0]["loglik"][k]) > 1e-3 for k in records[0]["loglik"])
    eos, _ = evaluate_zero_shot(backbone, tokenizer, config("xnli"), xnli_en[:2], progress=False, prefix_token="eos")
    assert eos["scoring"]["prefix_ids"] == [[2]]


def test_tokenizer_without_start_token_gets_lm_evals_prefix(gpt2_bpe, reference_loglik):
    from xlpt.models.backbone import Backbone

    lm, tokenizer = gpt2_bpe
    examples = [PairExample("The cat sleeps", "the animal rests.", "entailment", "en", "0")]
    metrics, records = evaluate_zero_shot(Backbone(lm), tokenizer, config("xnli"), examples, progress=False)
    eos = tokenizer.eos_token_id
    assert metrics["scoring"]["prefix_ids"] == [[eos]]  # BOS = EOS here; without it token 0 would go unscored
    texts, _ = candidates("xnli", "en", "The cat sleeps", "the animal rests.")
    want = [reference_loglik(lm, [eos] + tokenizer(t).input_ids) for t in texts]
    assert list(records[0]["loglik"].values()) == pytest.approx(want, abs=2e-4)
    # lm-eval's XNLI continuation starts with its target_delimiter " ": byte-level BPE sees it.
    _, spaced = evaluate_zero_shot(Backbone(lm), tokenizer, config("xnli"), examples, progress=False,
                                   target_delimiter="lm_eval")
    want = [reference_loglik(lm, [eos] + tokenizer(" " + t).input_ids) for t in texts]
    assert list(spaced[0]["loglik"].values()) == pytest.approx(want, abs=2e-4)
    assert spaced[0]["loglik"] != records[0]["loglik"]


def test_truncation_right_keeps_the_start_and_left_keeps_the_end(tiny_lm, xnli_en, reference_loglik):
    lm, tokenizer, backbone = tiny_lm
    ex = xnli_en[:1]
    texts, _ = candidates("xnli", "en", ex[0].text_a.strip(), ex[0].text_b.strip())
    full = [tokenizer(t).input_ids for t in texts]
    n = 12
    assert all(len(ids) > n for ids in full)
    right, rec_right = evaluate_zero_shot(backbone, tokenizer, config("xnli", n), ex, progress=False)
    left, rec_left = evaluate_zero_shot(backbone, tokenizer, config("xnli", n), ex, progress=False, truncation="left")
    assert right["truncated"] == left["truncated"] == 3
    assert list(rec_right[0]["loglik"].values()) == pytest.approx([reference_loglik(lm, ids[:n]) for ids in full], abs=2e-4)
    assert list(rec_left[0]["loglik"].values()) == pytest.approx([reference_loglik(lm, ids[-n:]) for ids in full], abs=2e-4)


def test_lm_eval_paraphrase_preprocessing_rules():
    # Detokenize, strip, drop a final . , ; of sentence 1, lower-case the first letter of sentence 2.
    assert lm_eval_paraphrase_pair(" He did n't go ( twice ) , said Tom . ", "Then he left , he said .") == (
        "He didn't go (twice), said Tom", "then he left, he said.")
    assert lm_eval_paraphrase_pair("Ends with semicolon;", "Über alles") == ("Ends with semicolon", "über alles")
    assert lm_eval_paraphrase_pair("Two dots..", " ") == ("Two dots.", "")


def test_pawsx_preprocess_applies_to_lm_evals_languages_and_drops_empty_pairs(tiny_lm):
    _, tokenizer, backbone = tiny_lm
    examples = [PairExample("Der Hund , der bellt .", "Er bellt .", "paraphrase", "de", "1"),
                PairExample("", "Er bellt.", "paraphrase", "de", "2")]
    strip, rec_strip = evaluate_zero_shot(backbone, tokenizer, config("pawsx"), examples, progress=False)
    lm_eval, rec_lm = evaluate_zero_shot(backbone, tokenizer, config("pawsx"), examples, progress=False,
                                         pawsx_preprocess="lm_eval")
    assert strip["n"] == 2 and strip["scoring"]["skipped_empty"] == 0
    assert lm_eval["n"] == 1 and lm_eval["scoring"]["skipped_empty"] == 1 and rec_lm[0]["id"] == "1"
    assert rec_lm[0]["loglik"] != rec_strip[0]["loglik"]
    processed = [PairExample(*lm_eval_paraphrase_pair(examples[0].text_a, examples[0].text_b), "paraphrase", "de", "1")]
    _, rec_processed = evaluate_zero_shot(backbone, tokenizer, config("pawsx"), processed, progress=False)
    assert rec_lm[0]["loglik"] == pytest.approx(rec_processed[0]["loglik"], abs=1e-5)
    # lm-eval's paws_ja has no process_docs: the text goes in as it is.
    ja = [PairExample("犬が吠える .", "Abc 吠える。", "paraphrase", "ja", "1")]
    _, raw = evaluate_zero_shot(backbone, tokenizer, config("pawsx"), ja, progress=False, pawsx_preprocess="lm_eval")
    _, plain = evaluate_zero_shot(backbone, tokenizer, config("pawsx"), ja, progress=False)
    ja_processed = [PairExample(*lm_eval_paraphrase_pair(ja[0].text_a, ja[0].text_b), "paraphrase", "ja", "1")]
    _, would_be = evaluate_zero_shot(backbone, tokenizer, config("pawsx"), ja_processed, progress=False)
    assert raw[0]["loglik"] == pytest.approx(plain[0]["loglik"], abs=1e-5)
    assert raw[0]["loglik"] != pytest.approx(would_be[0]["loglik"], abs=1e-3)


def test_nothing_to_score_is_a_clear_error(tiny_lm):
    _, tokenizer, backbone = tiny_lm
    with pytest.raises(ConfigError, match="no xnli examples to score"):
        evaluate_zero_shot(backbone, tokenizer, config("xnli"), [], progress=False)
    empty = [PairExample("", "B", "paraphrase", "en", "1")]
    with pytest.raises(ConfigError, match="1 dropped for an empty sentence"):
        evaluate_zero_shot(backbone, tokenizer, config("pawsx"), empty, progress=False, pawsx_preprocess="lm_eval")


def test_lm_eval_options_name_only_known_values():
    assert set(LM_EVAL_OPTIONS) == {"prefix_token", "pawsx_preprocess", "truncation", "target_delimiter"}


@pytest.mark.parametrize("option, value", [("prefix_token", "cls"), ("truncation", "middle"),
                                           ("pawsx_preprocess", "none"), ("target_delimiter", "space")])
def test_unknown_option_values_are_config_errors(option, value):
    with pytest.raises(ConfigError, match=f"method.{option}='{value}': must be one of"):
        config("xnli", **{option: value})


def test_lm_eval_options_are_valid_method_settings():
    cfg = config("pawsx", **LM_EVAL_OPTIONS)
    assert {key: getattr(cfg.method, key) for key in LM_EVAL_OPTIONS} == LM_EVAL_OPTIONS


def test_words_table_is_an_argument_and_its_shape_is_checked(tiny_lm, xnli_en):
    _, tokenizer, backbone = tiny_lm
    words = {"en": ("right", "Yes", "Maybe", "No")}
    metrics, _ = evaluate_zero_shot(backbone, tokenizer, config("xnli"), xnli_en[:1], progress=False, words=words)
    assert metrics["own_language_prompt"]
    with pytest.raises(ConfigError, match="must be \\(question, 3 label words\\)"):
        evaluate_zero_shot(backbone, tokenizer, config("xnli"), xnli_en[:1], progress=False,
                           words={"en": ("right", "Yes", "No")})
    with pytest.raises(ConfigError, match="no 'en' entry"):
        evaluate_zero_shot(backbone, tokenizer, config("xnli"), xnli_en[:1], progress=False, words={"de": words["en"]})


def test_candidates_follow_the_harness_format():
    options, own = candidates("xnli", "de", "Er schläft", "Er ist wach")
    assert own and options == ["Er schläft, richtig? Ja, Er ist wach", "Er schläft, richtig? Auch, Er ist wach",
                               "Er schläft, richtig? Nein, Er ist wach"]
    options, own = candidates("pawsx", "xx", "A", "B")  # unknown language falls back to English words
    assert not own and options == ["A, right? No, B", "A, right? Yes, B"]
    table = {"en": ("eh", "N", "Y")}
    assert get_task("pawsx").zero_shot.candidates("en", {"text_a": "A", "text_b": "B"}, table) == (
        ["A, eh? N, B", "A, eh? Y, B"], True)


def test_a_task_yaml_with_a_misshapen_words_table_is_refused():
    from xlpt.tasks.spec import TaskSpec

    tree = get_task("pawsx").model_dump(mode="json")
    tree["zero_shot"]["words"]["de"] = ["richtig", "Nein"]
    with pytest.raises(ValueError, match="words for 'de' must be \\(question, 2 label words\\)"):
        TaskSpec.model_validate(tree)
