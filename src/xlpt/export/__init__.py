"""xlpt runs as standard PEFT adapters, and back: `xlpt export --format peft` and `method.init_from=`.

An exported folder is an ordinary PEFT adapter folder, written by PEFT's own `save_pretrained`, plus two
files of ours beside it:

    adapter_config.json        PEFT: PROMPT_TUNING, PREFIX_TUNING or LORA, task_type CAUSAL_LM
    adapter_model.safetensors  PEFT: the adapter weights
    README.md                  PEFT's model card, with a section of ours on how to feed text to it
    xlpt_head.safetensors      only for runs with a trained task head (linear_head formulation, tagging):
                               the head's tensors under their xlpt names (`head.weight` (labels, d),
                               `head.bias` (labels,)), applied to the final hidden state (after the last
                               layer norm) of the position xlpt reads; rows follow `task.labels` in
                               xlpt_export.json
    xlpt_export.json           what PEFT cannot say (see manifest.py): the task and its labels and template,
                               how text must be tokenized, the run's config, and the export's own check

`PeftModel.from_pretrained(base, folder)` and lm-evaluation-harness (`--model_args
pretrained=BASE,peft=FOLDER`) read it as they read any adapter; a verbalizer run needs nothing else (its
label words are in xlpt_export.json), a run with a linear head needs xlpt_head.safetensors too.

Exactness. xlpt computes with its own modules (prompts inserted among input embeddings, prefixes as a
key/value cache, LoRA injected in place), PEFT with its wrappers. The export is checked numerically before
anything is written: the PEFT model is built from the written tensors and its log-probabilities on probe
texts must equal xlpt's (`check.py`; the difference is recorded in xlpt_export.json).

What PEFT cannot express. PEFT puts virtual tokens before *every* input token. xlpt's default prompt
placement (`method.prompt_position=after_bos`) puts the prompt after the tokenizer's start tokens (XGLM:
`</s> P1..Pn text`). On a tokenizer that adds start tokens that placement is refused unless the export
is asked to convert it (`--start-tokens-in-prompt`): the start tokens' embeddings then become the first
virtual tokens, which is exact provided the text is fed *without* the tokenizer's start tokens
(`add_special_tokens=False`; lm-eval: `add_bos_token=False`). xlpt_export.json and the README say which
convention an adapter needs. A method's PEFT form is its own (`methods/<m>/peft.py`, named by the method
record's `peft`); a method without one (full fine-tuning, head only, BitFit, zero-shot) is refused in one line
that says what it trains (the record's `trained_parts`).
"""
