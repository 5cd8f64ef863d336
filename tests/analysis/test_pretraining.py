"""The shipped XGLM pretraining table: internally consistent and matching the model card's key rows."""

from __future__ import annotations

import math

import pytest

from xlpt.analysis.pretraining import load_table, pretraining_languages, pretraining_share, source_citation


def test_thirty_languages_with_shares_that_sum_to_one():
    langs = load_table()["languages"]
    assert len(langs) == 30
    natural = sum(row["ratio"] for row in langs.values())
    upsampled = sum(row["upsampled_ratio"] for row in langs.values())
    assert 0.999 < natural <= 1 + 1e-5  # published ratios are rounded
    assert 0.999 < upsampled <= 1 + 1e-3


def test_natural_ratio_is_token_count_over_total():
    # Catches transcription errors: each ratio must follow from its token count.
    langs = load_table()["languages"]
    total = sum(row["tokens"] for row in langs.values())
    for lang, row in langs.items():
        assert row["tokens"] / total == pytest.approx(row["ratio"], rel=1e-3), lang


def test_key_rows():
    en = pretraining_share("en")
    assert en.ratio == pytest.approx(0.49, abs=0.001) and en.upsampled_ratio == pytest.approx(0.3259)
    assert en.log10_ratio == pytest.approx(math.log10(0.489906))
    sw = pretraining_share("sw")
    assert sw.in_pretraining and sw.ratio < 0.001 < sw.upsampled_ratio  # low-resource languages upsampled
    assert pretraining_languages()[:3] == ("en", "ru", "zh")


@pytest.mark.parametrize("lang", ["yo", "kk", "af", "he", "tl", "wo", "pl"])
def test_unseen_languages(lang):
    share = pretraining_share(lang)
    assert not share.in_pretraining
    assert share.ratio == 0 and share.log10_ratio is None
    assert share.as_fields()["in_pretraining"] is False


def test_every_xnli_and_pawsx_language_was_seen():
    from xlpt.tasks import get_task

    for task in ("xnli", "pawsx"):
        assert all(pretraining_share(lang).in_pretraining for lang in get_task(task).languages), task


def test_source_is_cited():
    assert "huggingface.co/facebook/xglm" in source_citation()
    assert "commit" in load_table()["source"]["cross_check_commit"]
