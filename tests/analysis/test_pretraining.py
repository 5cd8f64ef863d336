"""The shipped XGLM pretraining table: internally consistent, matching the model card's key rows, and
joined to every FLORES-200 (SIB-200) language in the shared data by an explicit, script-aware table."""

from __future__ import annotations

import math

import pytest

from xlpt.analysis.pretraining import (
    FLORES_CODE, load_table, pretraining_languages, pretraining_share, source_citation, xglm_language,
)


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
def test_unseen_languages_have_no_share_rather_than_zero(lang):
    share = pretraining_share(lang)
    assert not share.in_pretraining
    assert share.ratio is None and share.tokens is None and share.log10_ratio is None
    fields = share.as_fields()
    assert fields["in_pretraining"] is False and fields["pretraining_share"] is None
    assert fields["pretraining_language"] is None


def test_every_xnli_and_pawsx_language_was_seen():
    from xlpt.tasks import get_task

    for task in ("xnli", "pawsx"):
        assert all(pretraining_share(lang).in_pretraining for lang in get_task(task).languages), task


def test_source_is_cited():
    assert "huggingface.co/facebook/xglm" in source_citation()
    assert "commit" in load_table()["source"]["cross_check_commit"]


# ---------------------------------------------------------------- FLORES-200 codes (SIB-200)


def _sib200_codes(data_dir) -> list[str]:
    folder = data_dir / "sib200"
    if not folder.is_dir():
        pytest.skip(f"no SIB-200 folder at {folder}")
    return sorted(p.name for p in folder.iterdir() if p.is_dir())


def test_every_sib200_language_gets_a_decision(data_dir):
    codes = _sib200_codes(data_dir)
    assert len(codes) == 199  # the shared copy keeps 6 of SIB-200's 205 out on purpose (see its README)
    seen = {}
    for code in codes:
        assert FLORES_CODE.fullmatch(code), code
        share = pretraining_share(code)
        if share.in_pretraining:
            # Seen: a real share from the card's row, never zero.
            row = load_table()["languages"][share.xglm_lang]
            assert share.ratio == row["ratio"] > 0 and share.tokens == row["tokens"], code
            seen[code] = share.xglm_lang
        else:
            assert share.ratio is None and share.upsampled_ratio is None and share.tokens is None, code
    # Decided by hand from the card's 30 languages (en ... qu): these are the FLORES-200 codes in the
    # folder that are one of them in the script XGLM saw; te, my, ht, qu are not in this copy.
    assert seen == {
        "eng_Latn": "en", "rus_Cyrl": "ru", "zho_Hans": "zh", "zho_Hant": "zh", "deu_Latn": "de",
        "spa_Latn": "es", "fra_Latn": "fr", "jpn_Jpan": "ja", "ita_Latn": "it", "por_Latn": "pt",
        "ell_Grek": "el", "kor_Hang": "ko", "fin_Latn": "fi", "ind_Latn": "id", "tur_Latn": "tr",
        "arb_Arab": "ar", "vie_Latn": "vi", "tha_Thai": "th", "bul_Cyrl": "bg", "cat_Latn": "ca",
        "hin_Deva": "hi", "est_Latn": "et", "ben_Beng": "bn", "tam_Taml": "ta", "urd_Arab": "ur",
        "swh_Latn": "sw", "eus_Latn": "eu",
    }
    assert len(codes) - len(seen) == 172


@pytest.mark.parametrize("code, xglm", [
    ("swh_Latn", "sw"), ("arb_Arab", "ar"), ("zho_Hans", "zh"), ("zho_Hant", "zh"), ("eng_Latn", "en"),
    ("urd_Arab", "ur"), ("quy_Latn", "qu"), ("hat_Latn", "ht"), ("mya_Mymr", "my"), ("tel_Telu", "te"),
])
def test_seen_flores_codes_by_hand(code, xglm):
    share = pretraining_share(code)
    assert share.xglm_lang == xglm and share.as_fields()["pretraining_language"] == xglm
    assert share.ratio == pretraining_share(xglm).ratio and share.log10_ratio == pretraining_share(xglm).log10_ratio


@pytest.mark.parametrize("code", [
    "arb_Latn",  # Arabic, but in Latin script: not the Arabic-script text XGLM saw
    "arz_Arab", "ary_Arab",  # Arabic varieties the card gives no share for
    "zsm_Latn", "pes_Arab", "npi_Deva", "khk_Cyrl",  # ms, fa, ne, mn are not among the 30
    "yue_Hant",  # Cantonese is not the zh row
    "yor_Latn", "kaz_Cyrl", "hau_Latn", "shn_Mymr",
])
def test_unseen_flores_codes_by_hand(code):
    share = pretraining_share(code)
    assert not share.in_pretraining and share.ratio is None and share.log10_ratio is None
    assert share.as_fields()["pretraining_share"] is None


def test_close_calls_carry_their_reason():
    assert "Latin script" in pretraining_share("arb_Latn").note
    assert "30 languages" in pretraining_share("zsm_Latn").note
    assert "Han script" in pretraining_share("zho_Hant").note
    assert pretraining_share("deu_Latn").note is None


def test_flores_table_reaches_each_of_the_30_languages_and_nothing_else():
    flores = load_table()["flores200"]
    assert set(flores["seen"].values()) == set(load_table()["languages"])
    assert all(FLORES_CODE.fullmatch(code) for code in list(flores["seen"]) + list(flores["notes"]))
    assert "arb_Latn" in flores["rule"] and "swh" in flores["rule"]


def test_iso_codes_still_work_and_are_not_mistaken_for_flores():
    assert xglm_language("sw") == "sw" and xglm_language("yo") is None
    assert xglm_language("swh_Latn") == "sw" and xglm_language("swh_Arab") is None
    assert xglm_language("ar") == "ar" and xglm_language("arb") is None


def test_sampled_share_is_the_cards_upsampled_ratio_for_every_language():
    # Read the shipped file directly, not through load_table, so a wrong join would show.
    import json
    from pathlib import Path

    import xlpt.analysis

    rows = json.loads((Path(xlpt.analysis.__file__).parent / "xglm_pretraining.json").read_text())["languages"]
    for lang, row in rows.items():
        fields = pretraining_share(lang).as_fields()
        assert fields["pretraining_share_upsampled"] == row["upsampled_ratio"], lang
        assert fields["pretraining_share"] == row["ratio"], lang
    # Upsampling reorders languages: ko is 11th by natural share but 1 of the 3 largest sampled shares.
    assert sorted(rows, key=lambda l: -rows[l]["upsampled_ratio"])[:3] == ["en", "ko", "fi"]
    assert sorted(rows, key=lambda l: -rows[l]["ratio"]).index("ko") == 10
