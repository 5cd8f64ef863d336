"""`xlpt export`: a trained run as a standard PEFT adapter folder, or a fully fine-tuned run as a Hugging Face
model folder (see xlpt/export/)."""

from __future__ import annotations

import argparse

from xlpt.cli.options import add_include_path, apply_include_path


def register(sub) -> None:
    parser = sub.add_parser(
        "export", help="write a trained run as a PEFT adapter (prompt, prefix, LoRA) or a Hugging Face model (full FT)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Write the best checkpoint of a prompt-tuning, prefix-tuning or LoRA run as a PEFT adapter folder "
        "(adapter_config.json + adapter_model.safetensors, written by PEFT's save_pretrained) that "
        "PeftModel.from_pretrained and lm-evaluation-harness (--model_args pretrained=BASE,peft=OUT) load. A task "
        "head (linear_head formulation, tagging) is saved beside it in xlpt_head.safetensors; xlpt_export.json "
        "records the task, its labels and template, how to tokenize text for the adapter, and the export's check: "
        "before writing, the PEFT model must reproduce the run's log-probabilities on probe texts. Start a new run "
        "from an export (or any PEFT adapter of the same kind) with method.init_from=OUT. With --format hf, a fully "
        "fine-tuned run (also one trained sharded) becomes an ordinary Hugging Face model folder "
        "(AutoModelForCausalLM.from_pretrained) with its tokenizer; a task head goes beside it in "
        "xlpt_head.safetensors. Either way the console and xlpt_export.json name the run's state and the "
        "checkpoint's step, and carry a pipeline-check model's notice; a run whose training did not finish "
        "(diverged, failed, interrupted, still running) is refused unless --allow-unfinished. The folder is "
        "written beside --out and renamed when complete: a failed export (a full disk) leaves nothing behind.",
        epilog="A prompt placed after the tokenizer's start tokens (method.prompt_position=after_bos, the default, on "
        "XGLM) has no PEFT equivalent: it is refused unless --start-tokens-in-prompt is given, which makes the start "
        "tokens the first virtual tokens; that adapter must then be fed text without its start tokens "
        "(add_special_tokens=False; lm-eval add_bos_token=False).")
    parser.add_argument("--run", "--run-dir", dest="run", required=True,
                        help="run directory written by `xlpt train` (under torchrun, spell it --run-dir)")
    parser.add_argument("--format", choices=["peft", "hf"], default="peft",
                        help="peft: an adapter folder for prompt tuning, prefix tuning and LoRA (default); hf: a "
                        "Hugging Face model folder for full fine-tuning")
    parser.add_argument("--out", required=True, help="new (or empty) folder to write the adapter to")
    parser.add_argument("--start-tokens-in-prompt", action="store_true",
                        help="export an after_bos prompt exactly, with the tokenizer's start tokens as the first "
                        "virtual tokens (text must then be fed without them)")
    parser.add_argument("--device", default=None, help="device for the export's check (default: the run's "
                        "model.device)")
    parser.add_argument("--dtype", choices=["float32", "bfloat16", "float16"], default="float32",
                        help="dtype the models are loaded in for the check (default float32; the adapter's tensors "
                        "are float32 either way)")
    add_unfinished_and_model(parser)
    add_include_path(parser)
    parser.set_defaults(func=_export)


def add_unfinished_and_model(parser) -> None:
    """The options `xlpt export` and `xlpt predict` share about the run they read."""
    parser.add_argument("--allow-unfinished", action="store_true",
                        help="use the best checkpoint of a run whose training did not finish (diverged, failed, "
                        "interrupted, still running); the output then says which checkpoint and why")
    parser.add_argument("--model", default=None,
                        help="the run's base model from where it is now (a folder or hub name), when the recorded "
                        "model.name cannot be found (a run trained in another directory or machine)")


def _export(args) -> int:
    apply_include_path(args)
    if args.format == "hf":
        from xlpt.export.hf_export import export_run as export_hf

        out = export_hf(args.run, args.out, args.allow_unfinished, args.model, echo=print)
        print(f"wrote {out}: load it with AutoModelForCausalLM.from_pretrained({str(out)!r})")
        return 0

    from xlpt.export.peft_export import export_run

    manifest = export_run(args.run, args.out, args.start_tokens_in_prompt, args.device, args.dtype,
                          args.allow_unfinished, args.model, echo=print)
    check = manifest["check"]
    print(f"wrote {args.out}: {manifest['adapter']}"
          + (", task head in xlpt_head.safetensors" if manifest["head"] else "")
          + f"; PEFT reproduces the run's log-probabilities to {check['max_abs_logprob_difference']:.2g} "
          f"({check['dtype']}, {check['probe_texts']} probe texts)")
    keep = manifest["input"]["start_tokens"] == "keep"
    print(f"load: PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained({manifest['base_model']!r}), "
          f"{str(args.out)!r}); tokenize with add_special_tokens={keep}")
    print(f"lm-eval: --model hf --model_args pretrained={manifest['base_model']},peft={args.out}"
          + ("" if keep else ",add_bos_token=False"))
    return 0
