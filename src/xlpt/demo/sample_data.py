"""A small generated PAWS-X-style sample ("do both sentences say the same thing?") in seven languages (the PAWS-X ones).

Sentences are built from short word lists written for this project. A pair is a paraphrase when the
second sentence repeats the first, and not one when the second sentence negates it (a negation word
such as "never" is inserted). Spotting that word is learnable by a tiny random model in a few hundred
steps; whether it transfers depends on what the model shares across languages (a random model shares
nothing, a pretrained one should). Files are written in XTREME's `download/pawsx/`
layout (`train-en.tsv`, `dev-<lang>.tsv`, `test-<lang>.tsv`: sentence1<TAB>sentence2<TAB>label), so
the demo reads them through the same loaders as real data.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

# Negation word inserted after the subject in non-paraphrase pairs.
NEGATION = {"en": "never", "de": "nie", "fr": "jamais", "es": "nunca", "zh": "从不", "ja": "決して", "ko": "절대"}
# language -> (subjects, verbs, objects, places); every list written by hand for this sample.
LEXICON = {
    "en": (["The cat", "A man", "The child", "My friend", "The teacher", "A dog"],
           ["sees", "likes", "finds", "takes", "buys", "paints"],
           ["the red book", "a small house", "the old car", "a green apple", "the new chair", "a big boat"],
           ["in the park", "at school", "near the river", "in the city", "at home", "by the sea"]),
    "de": (["Die Katze", "Ein Mann", "Das Kind", "Mein Freund", "Der Lehrer", "Ein Hund"],
           ["sieht", "mag", "findet", "nimmt", "kauft", "malt"],
           ["das rote Buch", "ein kleines Haus", "das alte Auto", "einen grünen Apfel", "den neuen Stuhl", "ein großes Boot"],
           ["im Park", "in der Schule", "am Fluss", "in der Stadt", "zu Hause", "am Meer"]),
    "fr": (["Le chat", "Un homme", "L'enfant", "Mon ami", "Le professeur", "Un chien"],
           ["voit", "aime", "trouve", "prend", "achète", "peint"],
           ["le livre rouge", "une petite maison", "la vieille voiture", "une pomme verte", "la nouvelle chaise", "un grand bateau"],
           ["dans le parc", "à l'école", "près de la rivière", "en ville", "à la maison", "au bord de la mer"]),
    "es": (["El gato", "Un hombre", "El niño", "Mi amigo", "El profesor", "Un perro"],
           ["ve", "quiere", "encuentra", "toma", "compra", "pinta"],
           ["el libro rojo", "una casa pequeña", "el coche viejo", "una manzana verde", "la silla nueva", "un barco grande"],
           ["en el parque", "en la escuela", "cerca del río", "en la ciudad", "en casa", "junto al mar"]),
    "zh": (["猫", "一个男人", "孩子", "我的朋友", "老师", "一只狗"],
           ["看见", "喜欢", "找到", "拿走", "买", "画"],
           ["红色的书", "一座小房子", "旧汽车", "一个青苹果", "新椅子", "一条大船"],
           ["在公园里", "在学校", "在河边", "在城市里", "在家", "在海边"]),
    "ja": (["猫は", "男の人は", "子供は", "私の友達は", "先生は", "犬は"],
           ["見ます", "好きです", "見つけます", "取ります", "買います", "描きます"],
           ["赤い本を", "小さい家を", "古い車を", "青いりんごを", "新しい椅子を", "大きい船を"],
           ["公園で", "学校で", "川の近くで", "町で", "家で", "海のそばで"]),
    "ko": (["고양이가", "남자가", "아이가", "내 친구가", "선생님이", "개가"],
           ["봅니다", "좋아합니다", "찾습니다", "가져갑니다", "삽니다", "그립니다"],
           ["빨간 책을", "작은 집을", "오래된 차를", "초록 사과를", "새 의자를", "큰 배를"],
           ["공원에서", "학교에서", "강 근처에서", "도시에서", "집에서", "바닷가에서"]),
}
LANGUAGES = tuple(LEXICON)
SIZES = {"train": 600, "dev": 120, "test": 200}
VERB_FINAL = {"ja", "ko"}
NO_SPACES = {"zh", "ja"}  # scripts written without spaces between words


def sentence(lang: str, rng: random.Random, negated: bool = False) -> str:
    subjects, verbs, objects, places = LEXICON[lang]
    subject, verb, obj, place = (rng.choice(words) for words in (subjects, verbs, objects, places))
    if negated:
        subject = f"{subject} {NEGATION[lang]}"
    if lang in VERB_FINAL:
        words, stop = [subject, place, obj, verb], "。" if lang == "ja" else "."
    elif lang == "zh":
        words, stop = [subject, place, verb, obj], "。"
    else:
        words, stop = [subject, verb, obj, place], "."
    joined = "".join(words).replace(" ", "") if lang in NO_SPACES else " ".join(words)
    return joined + stop


def pairs(lang: str, n: int, rng: random.Random) -> list[tuple[str, str, int]]:
    """Balanced pairs: label 1 (paraphrase) repeats the sentence, label 0 negates it."""
    rows = []
    for i in range(n):
        state = rng.getstate()
        first = sentence(lang, rng)
        if i % 2 == 0:
            rows.append((first, first, 1))
            continue
        rng.setstate(state)  # same words again, now negated
        rows.append((first, sentence(lang, rng, negated=True), 0))
    rng.shuffle(rows)
    return rows


def write_sample(root: str | Path, seed: int = 0) -> Path:
    """Write the sample under `root/pawsx/` and return that folder."""
    folder = Path(root) / "pawsx"
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    files = [("train", "en")] + [(split, lang) for split in ("dev", "test") for lang in LANGUAGES]
    for split, lang in files:
        with open(folder / f"{split}-{lang}.tsv", "w", encoding="utf-8", newline="") as handle:
            csv.writer(handle, delimiter="\t", lineterminator="\n").writerows(pairs(lang, SIZES[split], rng))
    return folder


def corpus_lines() -> list[str]:
    """Every lexicon phrase once per language, for training the demo's tokenizer."""
    lines = []
    for lang, parts in LEXICON.items():
        lines += [" ".join(words) for words in zip(*parts)]
        rng = random.Random(lang)
        lines += [sentence(lang, rng) for _ in range(30)]
    return lines
