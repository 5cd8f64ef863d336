"""Loading and checking tokenizers, and building an XGLM tokenizer from a SentencePiece model.

transformers 5.x has no slow XGLM tokenizer: a folder holding only `sentencepiece.bpe.model` loads
*silently* as a tiny all-`<unk>` tokenizer. Every tokenizer we load therefore goes through
`check_tokenizer`, which fails loudly when the vocabulary is degenerate.
"""

from __future__ import annotations

import os
from pathlib import Path

from xlpt.errors import ConfigError

# Text that any real tokenizer must segment into several known (non-unk) pieces.
_PROBE_TEXT = "the cat and the house"
MIN_VOCAB = 100


def check_tokenizer(tokenizer, source: str = "tokenizer", probe_text: str | None = None) -> None:
    """Fail loudly on the silent failure modes seen in practice (tiny vocab, everything <unk>).

    `probe_text` replaces the English probe for tokenizers of other languages (a model folder built by
    `xlpt lab` records one in its config, see models.origin)."""
    probe = probe_text or _PROBE_TEXT
    size = len(tokenizer)
    if size < MIN_VOCAB:
        raise ConfigError(
            f"{source}: tokenizer has only {size} entries; this is the silent failure of transformers>=5 "
            "loading a folder with only `sentencepiece.bpe.model`. Provide `tokenizer.json`, or build one with "
            "`xlpt.models.tokenizer.xglm_tokenizer_from_spm`."
        )
    ids = tokenizer(probe, add_special_tokens=False)["input_ids"]
    unk = tokenizer.unk_token_id
    # half or more: a SentencePiece tokenizer emits a bare word-boundary piece before each unknown word
    if not ids or (unk is not None and 2 * sum(i == unk for i in ids) >= len(ids)):
        raise ConfigError(f"{source}: tokenizer maps {probe!r} to unknown tokens {ids}; it is broken")


def load_tokenizer(name_or_path: str | os.PathLike):
    """Load a tokenizer by hub name or local folder and check it works. Right padding always."""
    from transformers import AutoTokenizer

    from xlpt.models.hub_access import local_files_only

    text = str(name_or_path)
    try:
        tokenizer = AutoTokenizer.from_pretrained(text, local_files_only=local_files_only(text))
    except (OSError, ValueError) as err:
        raise ConfigError(f"cannot load tokenizer {str(name_or_path)!r}: {' '.join(str(err).split())}") from err
    from xlpt.models.origin import read_origin

    check_tokenizer(tokenizer, str(name_or_path), read_origin(text).get("probe_text"))
    # XGLM's position ids ignore padding: right padding keeps every real token at its true position.
    tokenizer.padding_side = "right"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def xglm_tokenizer_from_spm(spm_model_path: str | os.PathLike):
    """Build XGLM's tokenizer from a SentencePiece model, in fairseq id order.

    fairseq order: <s>=0, <pad>=1, </s>=2, <unk>=3, then SentencePiece piece i at id i+1
    (SentencePiece's own first three ids, <unk> <s> </s>, are replaced by the four specials).
    Needs `protobuf` to read the model proto.
    """
    from sentencepiece import sentencepiece_model_pb2 as sp_pb
    from transformers import XGLMTokenizer

    proto = sp_pb.ModelProto()
    proto.ParseFromString(Path(spm_model_path).read_bytes())
    vocab = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    vocab += [(piece.piece, piece.score) for piece in proto.pieces[3:]]
    return XGLMTokenizer(vocab=vocab, _spm_precompiled_charsmap=proto.normalizer_spec.precompiled_charsmap)
