"""`xlpt lab`: controlled synthetic languages for studying what makes cross-lingual transfer work.

A lab is described by one YAML spec (`lab.spec`). From it, in order:

1. `grammar` samples *meanings* (who does what to whom, where; "X is a CATEGORY"), each with a topic;
   `languages` realises a meaning as words in any language of the spec: the base language and
   languages derived from it by a bijective lexicon map, a script, a word order and a word length.
   The same meaning gives a parallel sentence in every language, with gold POS tags and entity spans.
2. `corpus` writes the pretraining mixture (documents by pretraining share) and the task data
   (topic classification, an entailment pair task, POS tagging, entity tagging) in the layout the data
   layer reads: train in the base language, dev/test parallel in every language.
3. `tokenizer` builds the tokenizer as an intervention: trained on the natural mixture, on a balanced
   sample, or with the segmentation of every language set directly (fertility chosen, not learned).
4. `pretrain` pretrains a small XGLM on the mixture through xlpt's training loop (resumable,
   deterministic, cached by the spec's hash) and writes the no-pretraining control beside it.
5. `retrieval` measures parallel-sentence retrieval per layer between the base and each language.
6. `study` runs the spec's study as an ordinary sweep: every method x model (pretrained, control) x
   seed, trained on the base language and evaluated zero-shot on every language, plus the majority
   baseline; `report` turns it into the lab report (factors, accuracy, transfer above the control and
   the majority, the PT - FT gap, one-factor contrasts, retrieval per layer), with the seed intervals
   of `intervals`.

`pipeline` runs the build stages with caching; `xlpt lab` (cli/lab.py) is the command.
"""
