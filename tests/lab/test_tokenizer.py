"""Tokenizer interventions: natural BPE couples fertility to share, balanced BPE removes the coupling,
segmented sets fertility exactly; all load as XGLM-style fast tokenizers through xlpt's own loader."""

import random

import pytest

from xlpt.lab.corpus import balanced_sample, pretraining_documents
from xlpt.lab.grammar import MeaningSampler, build_lexicon
from xlpt.lab.languages import build_languages
from xlpt.lab.tokenizer import SPECIALS, build_tokenizer, designed_pieces, fertility_report, train_bpe
from xlpt.models.origin import mark_model
from xlpt.models.tokenizer import load_tokenizer

from .conftest import make_spec

# Two clones of the base with identical word shapes (transliterations), one frequent and one rare.
SHARE_LANGUAGES = [{"name": "frequent", "script": "greek", "lexicon": "transliterate", "share": 0.45},
                   {"name": "rare", "script": "cyrillic", "lexicon": "transliterate", "share": 0.05}]


def built(tmp_path, **sections):
    """(spec, languages, HF tokenizer loaded back from disk, word lists of test-like sentences per language)."""
    spec = make_spec(**sections)
    lexicon = build_lexicon(spec.grammar)
    languages = build_languages(spec, lexicon)
    train, _, _ = pretraining_documents(spec, lexicon, languages, [])
    lines = [doc for docs in train.values() for doc in docs]
    balanced = None
    if spec.tokenizer.mode == "balanced":
        balanced = [s for sample in balanced_sample(spec, lexicon, languages).values() for s in sample]
    build_tokenizer(spec, languages, lines, balanced, tmp_path)
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tmp_path))
    draw = MeaningSampler(lexicon, spec.grammar, random.Random(9))
    meanings = [draw.clause() for _ in range(200)]
    words = {name: [language.words(c) for c in meanings] for name, language in languages.items()}
    return spec, languages, tokenizer, words


def fertility(tokenizer, words):
    return {name: stats["fertility"] for name, stats in fertility_report(tokenizer, words).items()}


@pytest.fixture(scope="module")
def share_corpus():
    return {"base": {"name": "base", "share": 0.5}, "languages": SHARE_LANGUAGES,
            "corpus": {"sentences": 6000}}


def test_natural_bpe_gives_a_rare_language_more_pieces_per_word(tmp_path, share_corpus):
    _, _, tokenizer, words = built(tmp_path, tokenizer={"mode": "natural", "vocab_size": 400}, **share_corpus)
    fert = fertility(tokenizer, words)
    assert fert["rare"] > fert["frequent"] + 1.0, fert


def test_balanced_bpe_gives_equal_word_shapes_equal_fertility_whatever_the_share(tmp_path, share_corpus):
    _, _, tokenizer, words = built(tmp_path, tokenizer={"mode": "balanced", "vocab_size": 400,
                                                        "balanced_sentences": 1500}, **share_corpus)
    fert = fertility(tokenizer, words)
    assert abs(fert["rare"] - fert["frequent"]) < 0.1 and abs(fert["base"] - fert["frequent"]) < 0.1, fert


def test_segmented_mode_sets_fertility_exactly(tmp_path):
    languages = [{"name": "syllabic", "script": "greek", "syllables": [3, 3], "share": 0.3, "piece_syllables": 1},
                 {"name": "pairs", "script": "georgian", "syllables": [4, 6], "share": 0.1, "piece_syllables": 2,
                  "case_marking": True},
                 {"name": "whole", "script": "armenian", "syllables": [2, 5], "share": 0.1}]
    spec, langs, tokenizer, words = built(tmp_path, languages=languages, tokenizer={"mode": "segmented"})
    fert = fertility(tokenizer, words)
    assert fert["base"] == 1.0 and fert["whole"] == 1.0
    assert fert["syllabic"] == 3.0  # every word has 3 syllables, one piece each (function words too)
    # pieces of 2 syllables: ceil(syllables / 2) per word, counted independently of the tokenizer
    expected = [-(-(len(w) // 2) // 2) for sentence in words["pairs"] for w in sentence]
    assert fert["pairs"] == pytest.approx(sum(expected) / len(expected))
    assert fert["pairs"] > 2.0
    encoded = tokenizer(words["syllabic"][0], is_split_into_words=True, add_special_tokens=False)
    assert tokenizer.convert_ids_to_tokens(encoded["input_ids"]) == [
        piece for w in words["syllabic"][0] for piece in designed_pieces(w, {"greek": 1})]


def test_segmented_pieces_follow_scripts_within_a_word():
    setting = {"latin": None, "armenian": 1}
    # an anchor stem in Latin followed by a native Armenian case suffix: two runs, cut differently
    assert designed_pieces("bakoլը", setting) == ["▁bako", "լը"]
    assert designed_pieces("պիպիտա", setting) == ["▁պի", "պի", "տա"]
    assert designed_pieces("պիպիտա", {"armenian": 2}) == ["▁պիպի", "տա"]


@pytest.mark.parametrize("mode", ["natural", "segmented"])
def test_saved_tokenizer_has_xglm_conventions_and_passes_xlpts_checks(tmp_path, mode):
    spec, languages, tokenizer, words = built(tmp_path, tokenizer={"mode": mode, "vocab_size": 600})
    assert [tokenizer.convert_tokens_to_ids(t) for t in SPECIALS] == [0, 1, 2, 3]
    assert (tokenizer.bos_token_id, tokenizer.pad_token_id, tokenizer.eos_token_id, tokenizer.unk_token_id) == (0, 1, 2, 3)
    sentence = " ".join(words["georgian"][0])
    ids = tokenizer(sentence)["input_ids"]
    assert ids[0] == tokenizer.eos_token_id  # XGLM puts </s> before every text
    assert tokenizer.decode(ids, skip_special_tokens=True) == sentence
    for name, sentences in words.items():
        encoded = tokenizer([" ".join(s) for s in sentences], add_special_tokens=False)["input_ids"]
        assert tokenizer.unk_token_id not in {i for row in encoded for i in row}, name
    # xlpt's own loader (with the probe-text check of a lab model folder) accepts the folder
    (tmp_path / "config.json").write_text("{}")
    mark_model(tmp_path, "xlpt lab", "tokenizer test", probe_text=" ".join(words["base"][0]))
    assert len(load_tokenizer(tmp_path)) == len(tokenizer)


def test_bpe_training_is_deterministic():
    rng = random.Random(0)
    lines = [" ".join("".join(rng.choice("ptkmn") + rng.choice("aeiou") for _ in range(rng.randint(1, 3)))
                      for _ in range(8)) for _ in range(2000)]
    first = train_bpe(lines, 300, list("ptkmnaeiou")).to_str()
    assert all(train_bpe(lines, 300, list("ptkmnaeiou")).to_str() == first for _ in range(3))


def test_a_language_without_pretraining_text_is_still_encoded_without_unknowns(tmp_path):
    languages = [{"name": "unseen", "script": "hebrew", "lexicon": "transliterate", "share": 0.0},
                 {"name": "greek", "script": "greek", "share": 0.5}]
    _, _, tokenizer, words = built(tmp_path, languages=languages, tokenizer={"mode": "natural", "vocab_size": 400})
    report = fertility_report(tokenizer, words)
    assert report["unseen"]["unk_share"] == 0.0 and report["unseen"]["fertility"] > 2.0
