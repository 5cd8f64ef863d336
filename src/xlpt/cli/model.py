"""`xlpt model tiny`: write a tiny random XGLM + in-process SentencePiece tokenizer in HF format."""

from __future__ import annotations

from pathlib import Path


def register(sub) -> None:
    parser = sub.add_parser("model", help="model utilities (build the tiny test model)",
                            description="Model utilities.")
    actions = parser.add_subparsers(dest="model_command", metavar="ACTION")
    actions.required = True
    tiny = actions.add_parser(
        "tiny", help="write a tiny random XGLM and its SentencePiece tokenizer",
        description="Write a tiny randomly initialised XGLM (from XGLMConfig) plus a SentencePiece tokenizer "
        "trained in-process, in standard Hugging Face format. Load it anywhere a model name is accepted "
        "(e.g. `xlpt train --model DIR`). Nothing is downloaded.")
    tiny.add_argument("--out", required=True, help="output folder (created)")
    tiny.add_argument("--corpus", help="text file (one sentence per line) to train the tokenizer on; "
                      "default: the small multilingual corpus shipped with xlpt")
    tiny.add_argument("--vocab-size", type=int, default=1000, help="requested SentencePiece vocabulary size (default 1000)")
    tiny.add_argument("--d-model", type=int, default=64, help="hidden size (default 64)")
    tiny.add_argument("--layers", type=int, default=2, help="number of decoder layers (default 2)")
    tiny.add_argument("--heads", type=int, default=4, help="attention heads (default 4)")
    tiny.add_argument("--seed", type=int, default=0, help="weight initialisation seed (default 0)")
    tiny.set_defaults(func=_tiny)


def _tiny(args) -> int:
    from xlpt.errors import ConfigError
    from xlpt.models.loading import count_parameters, load_causal_lm
    from xlpt.models.tiny import TinyModelSpec, build_tiny_model

    corpus = None
    if args.corpus:
        try:
            corpus = [line for line in Path(args.corpus).read_text(encoding="utf-8").splitlines() if line.strip()]
        except (OSError, UnicodeDecodeError) as err:
            raise ConfigError(f"cannot read corpus {args.corpus}: {err}") from err
    if Path(args.out).exists() and not Path(args.out).is_dir():
        raise ConfigError(f"--out {args.out} is a file; give a folder to write the model into")
    spec = TinyModelSpec(vocab_size=args.vocab_size, d_model=args.d_model, num_layers=args.layers,
                         attention_heads=args.heads, ffn_dim=2 * args.d_model, seed=args.seed)
    out = build_tiny_model(args.out, corpus, spec)
    model, tokenizer = load_causal_lm(out, device="cpu")
    _, total = count_parameters(model)
    print(f"wrote {out}: XGLM with {total:,} parameters, tokenizer with {len(tokenizer)} entries")
    return 0
