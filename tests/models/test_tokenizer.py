"""Every loaded tokenizer is checked: the silent all-`<unk>` failure of transformers 5.x fails loudly."""

import json
import shutil

import pytest

from xlpt.errors import ConfigError
from xlpt.models.tiny import default_corpus, train_sentencepiece
from xlpt.models.tokenizer import load_tokenizer, xglm_tokenizer_from_spm


@pytest.fixture(scope="module")
def spm_model(tmp_path_factory):
    """A real SentencePiece BPE model trained on the tiny corpus."""
    return train_sentencepiece(default_corpus(), str(tmp_path_factory.mktemp("spm") / "spm"), 400)


def test_a_folder_with_only_the_sentencepiece_model_is_refused(spm_model, tmp_path, tiny_model_dir):
    # XGLM's hub layout before tokenizer.json: config + sentencepiece.bpe.model. transformers 5.x loads it
    # without complaint as a tokenizer that knows almost nothing.
    shutil.copy(spm_model, tmp_path / "sentencepiece.bpe.model")
    shutil.copy(tiny_model_dir / "config.json", tmp_path / "config.json")
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "XGLMTokenizer"}))
    with pytest.raises(ConfigError, match=f"{tmp_path}: tokenizer (has only|maps)"):
        load_tokenizer(tmp_path)


def test_the_same_model_converted_in_fairseq_order_loads_and_segments(spm_model, tmp_path):
    tokenizer = xglm_tokenizer_from_spm(spm_model)
    tokenizer.save_pretrained(tmp_path)
    loaded = load_tokenizer(tmp_path)
    ids = loaded("the cat and the house").input_ids
    assert ids[0] == loaded.eos_token_id == 2  # XGLM puts </s> first
    assert loaded.unk_token_id not in ids[1:] and len(ids) > 2
    assert loaded.padding_side == "right"


def test_a_tokenizer_that_maps_the_probe_to_unknowns_is_refused(tiny_model_dir, tmp_path):
    from xlpt.models.tokenizer import check_tokenizer

    tokenizer = load_tokenizer(tiny_model_dir)
    with pytest.raises(ConfigError, match="to unknown tokens"):
        check_tokenizer(tokenizer, "probe", probe_text="ጠጠጠ ቀቀቀ ፈፈፈ")
