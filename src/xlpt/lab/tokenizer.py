"""The tokenizer as an intervention: learned from the mixture, learned from a balanced sample, or set.

* natural: byte-pair encoding (Hugging Face `tokenizers`) trained on the pretraining mixture. A rare
  language's words are rare, so they stay split: fertility follows pretraining share.
* balanced: the same BPE trained on an equal number of sentences per language, which removes that
  coupling: languages with equal word shapes get equal fertility whatever their share.
* segmented: no learning. Every language's segmentation is set in the spec: a whole word is one piece,
  or (`piece_syllables: g`) a word is cut into pieces of g syllables, so a word of s syllables has
  exactly ceil(s / g) pieces. The vocabulary is exactly those pieces (plus single letters as a
  fallback), as a Unigram model with equal piece scores, so it picks the segmentation with the fewest
  pieces. Every word is a sequence of consonant-vowel syllables and no piece is longer than g
  syllables, so no segmentation has fewer than ceil(s / g) pieces, and the designed one has exactly
  that many. When g does not divide s, the model may place the shorter piece elsewhere in the word
  (same number of pieces, still cut between syllables). `build_tokenizer` checks the number of pieces
  of every word form of every language and fails if any differs.

BPE was preferred over a learned Unigram model: on small corpora a Unigram model stops far below the
requested vocabulary and splits even frequent words (seen in the feasibility prototype).

All three are saved as a fast tokenizer with XGLM's conventions: ids <s>=0, <pad>=1, </s>=2, <unk>=3,
`</s>` put before every text as the document-start token, and SentencePiece-style word boundaries
(Metaspace: a word after a space starts with `▁`), which is what xlpt's word alignment and subword
counting expect.
"""

from __future__ import annotations

from pathlib import Path

from xlpt.errors import ConfigError
from xlpt.lab.languages import Language
from xlpt.lab.scripts import SCRIPTS
from xlpt.lab.spec import LabSpec

SPECIALS = ("<s>", "<pad>", "</s>", "<unk>")
SPACE = "▁"
_PIECE_SCORE, _LETTER_SCORE = -1.0, -20.0


def _pipeline(model):
    """A `tokenizers.Tokenizer` around `model` with Metaspace boundaries and XGLM's start token."""
    from tokenizers import Tokenizer, decoders, pre_tokenizers, processors

    tokenizer = Tokenizer(model)
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement=SPACE, prepend_scheme="always")
    tokenizer.decoder = decoders.Metaspace(replacement=SPACE, prepend_scheme="always")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="</s> $A", pair="</s> $A </s> </s> $B", special_tokens=[("</s>", SPECIALS.index("</s>"))])
    return tokenizer


def alphabet(languages: dict[str, Language]) -> list[str]:
    """Every character any language writes (letters of every form, and the periods), sorted."""
    chars = {ch for language in languages.values() for form in language.forms() for ch in form}
    chars.update(ch for language in languages.values() for ch in language.spec.period)
    return sorted(chars)


def train_bpe(lines: list[str], vocab_size: int, letters: list[str]):
    """BPE on `lines`; every letter in `letters` is in the vocabulary even if a language has no text."""
    from tokenizers import models, trainers

    tokenizer = _pipeline(models.BPE(unk_token="<unk>"))
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(SPECIALS), initial_alphabet=letters,
                                  show_progress=False)
    tokenizer.train_from_iterator(lines, trainer)
    return tokenizer


# ------------------------------------------------------------------------------------ set segmentation


def _script_of(char: str) -> str | None:
    for name, script in SCRIPTS.items():
        if char in script.consonants or char in script.vowels:
            return name
    return None


def _runs(word: str) -> list[str]:
    """`word` split where the script changes (an anchor stem followed by a native suffix)."""
    runs: list[str] = []
    for ch in word:
        if runs and _script_of(runs[-1][-1]) == _script_of(ch):
            runs[-1] += ch
        else:
            runs.append(ch)
    return runs


def designed_pieces(word: str, piece_syllables: dict[str, int | None]) -> list[str]:
    """The set segmentation of one word as it appears after a space: script runs, each cut into pieces
    of g syllables (2g letters: every syllable is one consonant and one vowel) or kept whole."""
    pieces = []
    for run in _runs(word):
        g = piece_syllables.get(_script_of(run[0]))
        if g is None:
            pieces.append(run)
        else:
            pieces += [run[i : i + 2 * g] for i in range(0, len(run), 2 * g)]
    pieces[0] = SPACE + pieces[0]
    return pieces


def script_segmentation(spec: LabSpec) -> dict[str, int | None]:
    """Script -> syllables per piece (None = whole words), from the languages written in it."""
    return {language.script: language.piece_syllables for language in spec.all_languages}


def segmented_tokenizer(languages: dict[str, Language], spec: LabSpec):
    from tokenizers import models

    setting = script_segmentation(spec)
    pieces: dict[str, None] = {}  # insertion-ordered set: a deterministic vocabulary order
    for language in languages.values():
        for form in sorted(language.forms()):
            pieces.update(dict.fromkeys(designed_pieces(form, setting)))
        pieces[SPACE + language.spec.period] = None
    vocab = [(token, 0.0) for token in SPECIALS] + [(piece, _PIECE_SCORE) for piece in pieces]
    known = set(pieces)
    vocab += [(piece, _LETTER_SCORE) for piece in [SPACE, *alphabet(languages)] if piece not in known]
    return _pipeline(models.Unigram(vocab, unk_id=SPECIALS.index("<unk>"), byte_fallback=False))


def check_segmentation(tokenizer, languages: dict[str, Language], spec: LabSpec) -> dict[str, dict[str, int]]:
    """Per language: word forms whose number of pieces differs from the set one (must be 0), and forms
    cut into the same number of different pieces (possible where g does not divide the word's length)."""
    setting = script_segmentation(spec)
    report = {}
    for name, language in languages.items():
        forms = sorted(language.forms())
        encoded = tokenizer.encode_batch([[form] for form in forms], is_pretokenized=True, add_special_tokens=False)
        designed = [designed_pieces(form, setting) for form in forms]
        report[name] = {"wrong_count": sum(len(e.tokens) != len(d) for e, d in zip(encoded, designed)),
                        "other_cut": sum(len(e.tokens) == len(d) and e.tokens != d for e, d in zip(encoded, designed))}
    return report


# ------------------------------------------------------------------------------------------- building


def to_transformers(tokenizer, max_length: int):
    """Wrap as a transformers fast tokenizer with XGLM's special tokens."""
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
                                   pad_token="<pad>", model_max_length=max_length)


def build_tokenizer(spec: LabSpec, languages: dict[str, Language], train_lines: list[str],
                    balanced_lines: list[str] | None, out_dir: Path) -> dict:
    """Build the tokenizer the spec asks for and save it (HF format) in `out_dir`; returns a summary."""
    mode = spec.tokenizer.mode
    letters = alphabet(languages)
    if mode == "natural":
        tokenizer = train_bpe(train_lines, spec.tokenizer.vocab_size, letters)
    elif mode == "balanced":
        if not balanced_lines:
            raise ConfigError("tokenizer.mode=balanced needs the balanced sample")
        tokenizer = train_bpe(balanced_lines, spec.tokenizer.vocab_size, letters)
    else:
        tokenizer = segmented_tokenizer(languages, spec)
    summary = {"mode": mode, "vocab_size": tokenizer.get_vocab_size()}
    if mode == "segmented":
        summary["segmentation_check"] = check = check_segmentation(tokenizer, languages, spec)
        wrong = {name: counts["wrong_count"] for name, counts in check.items() if counts["wrong_count"]}
        if wrong:  # a bug, not a user error: the construction above guarantees the count
            raise AssertionError(f"segmented tokenizer gives other piece counts than set for {wrong} word forms")
    out_dir.mkdir(parents=True, exist_ok=True)
    to_transformers(tokenizer, spec.model.max_positions).save_pretrained(out_dir)
    return summary


def expected_fertility(language: Language, spec: LabSpec, word_lists: list[list[str]]) -> float:
    """Pieces per word the segmented mode sets for these words (for checking the built tokenizer)."""
    setting = script_segmentation(spec)
    counts = [len(designed_pieces(word, setting)) for words in word_lists for word in words]
    return sum(counts) / max(1, len(counts))


def fertility_report(tokenizer, word_lists: dict[str, list[list[str]]]) -> dict[str, dict]:
    """Per language: fertility, share of words split, unknown share, distinct pieces (xlpt.analysis.subwords)."""
    from xlpt.analysis.subwords import count_subwords, summarize

    vocab_size = len(tokenizer)
    report = {}
    for name, sentences in word_lists.items():
        stats = summarize(count_subwords(tokenizer, sentences), vocab_size)
        report[name] = {key: stats[key] for key in ("fertility", "split_share", "unk_share", "chars_per_token",
                                                    "distinct_pieces", "n_words")}
    return report


def label_word_report(tokenizer, task_definitions: dict[str, dict]) -> dict[str, dict[str, int]]:
    """Pieces per label word of each classification task (the verbalizer needs exactly 1)."""
    report = {}
    for task, definition in task_definitions.items():
        words = {label: word for template in (definition.get("templates") or {}).values()
                 for label, word in template["label_words"].items()}
        report[task] = {label: len(tokenizer(word, add_special_tokens=False)["input_ids"]) for label, word in words.items()}
    return report

