"""Memory per device, devices needed and GPU-hours of a run, before running it (`--dry-run`).

Memory of one training step on one device, in bytes, with N processes (train.batch_size examples of a
micro-batch split over them, see xlpt.distributed.engine), for a micro-batch of b = ceil(batch_size / N)
sequences of L tokens:

    weights      every parameter x its size: the LM in model.dtype; prompts, prefixes, adapters and heads in
                 float32. Divided by N when sharded (train.sharding=full).
    gradients    every trainable parameter x its size (/ N when sharded).
    optimizer    AdamW: two moments per trainable parameter, in its dtype (/ N when sharded).
    activations  what autograd keeps for the backward pass, per layer and token (d = width, f = feed-forward
                 width, H = heads, K = keys attended, c = compute bytes: 2 under bf16 autocast, else the weights'):
                   layer-norm inputs 2d (residual dtype), q/k/v 3d x c, GELU input f x c,
                   attention scores before softmax and probabilities H x K each (float32 under autocast);
                   plus, where the layer's weights train (full FT; LoRA on those layers), the inputs of its
                   matrices: 3d x c (LN outputs and attention context; 3 copies under autocast) and f x c.
                 Frozen matrices (prompt/prefix tuning) keep no inputs: autograd saves only what a gradient needs.
                 With gradient checkpointing, each layer keeps only its input and one layer is recomputed at a time.
    transient    the backward pass's own temporaries (~1.5 attention-score tensors; 3 in a forward pass without
                 backward, as for a head on a frozen model) and the 4-D mask, the tied
                 embedding's two dense partial gradients in full fine-tuning, and, when sharded, the FSDP units
                 gathered at a time (the root unit: embeddings and LM head; two decoder layers, with prefetch)
                 with their unsharded gradients.

    peak = weights + optimizer + max(activations, gradients) + transient

(gradients grow while the backward pass frees activations). Eager attention keeps H x K scores per token;
with model.attention=sdpa (the default) a fused kernel keeps H log-sum-exp values per token and no score
tensor in the transients (`fused_attention`). They are checked against the live tensor bytes of real
training steps on CPU (tests/sweeps/test_planner.py, with training.memory.TensorMeter). A CUDA process also
needs ~1 GB for its context, and the caching allocator fragments: a run is said to fit when the peak is at
most USABLE of the GPU's memory.

Time: two bounds, and the larger one is the estimate (`Plan.bound` says which).
    FLOPs     model FLOPs = 6 x matmul weights per training token for full fine-tuning, 4x with a frozen model
              (training.flops), 2x per dev-selection and evaluation token, plus 2x per training token
              recomputed with gradient checkpointing; seconds = FLOPs / (MFU x small-batch efficiency x the
              GPU's bf16 peak). Small-batch efficiency: the stated MFU is what matmuls reach with at least
              SATURATION_TOKENS tokens in a micro-batch; with n < that, sqrt(n / SATURATION_TOKENS) of it
              (a matrix of a few hundred rows leaves most of an H100's SMs idle).
    overhead  eager PyTorch issues every kernel from Python: per micro-batch, KERNELS_FIXED (embedding, prompt,
              head, loss, clipping, a fused optimizer) + layers x KERNELS_PER_LAYER forward (two norms, four
              projections, attention, two FFN matrices, activation, residual adds; + 3 with dropout), x3 with a
              backward pass; seconds = kernels x LAUNCH_SECONDS (dispatch + autograd bookkeeping + launch on the
              host). A 24-layer prompt-tuning step is ~1,200 kernels, ~14 ms: such a step cannot run faster
              however few FLOPs it has. Evaluation batches count forward kernels (when the caller says how many).
The two overlap (the host queues kernels while the GPU runs earlier ones), so a run's time is the larger.
GPU-hours = that time / 3600 per GPU x the GPUs it runs on. `describe_assumptions` prints every constant.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

from xlpt.errors import ConfigError
from xlpt.models.published import PUBLISHED

GPU = "H100"
GPU_MEMORY_GB = 80.0
MFU = 0.40
USABLE = 0.9
LAUNCH_SECONDS = 12e-6
"""Host time per kernel in eager PyTorch: dispatcher, autograd bookkeeping and the CUDA launch (5-20 us)."""
KERNELS_PER_LAYER = 16
"""Kernels of one decoder layer's forward pass (XGLM: measured 15-17 with SDPA; dropout adds 3)."""
KERNELS_FIXED = 40
"""Kernels per micro-batch outside the layers: embedding, soft prompt, head, loss, clipping, fused AdamW."""
SATURATION_TOKENS = 2048
"""Tokens per micro-batch from which matmuls run at the stated MFU (fewer: sqrt(n / this) of it)."""
DEVICE_COUNTS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
GB = 1e9
DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}

# Published shapes of the models the presets in configs/models/ name (the hub configs), so that the planner
# works offline for them: hub name -> the transformers config's model_type and the keys that size it. A preset
# whose model is missing here needs its config.json in the local Hugging Face cache (tests/test_registrations.py
# requires every preset here, with a model_type the architecture table knows).
KNOWN_MODELS = {name: (m.model_type, m.sizes) for name, m in PUBLISHED.items()}
KNOWN_SHAPES_FILE = Path(__file__).resolve().parents[1] / "models" / "published_shapes.json"
"""The ModelShape of every KNOWN_MODELS entry as `shape_of` builds it, so that a dry run for a preset imports
neither torch nor transformers (~4 s of a 5 s sweep preview). Written by `python -m xlpt.sweeps.planner
--write-known-shapes`; tests/sweeps/test_planner.py rebuilds every entry on the meta device with the installed
transformers and fails, naming that command, when one differs."""
_ATTENTION = ("q_proj", "k_proj", "v_proj", "query_key_value", "c_attn")
_CONTEXT = ("out_proj", "o_proj", "dense", "c_proj")
_FFN_IN = ("fc1", "up_proj", "gate_proj", "dense_h_to_4h", "c_fc")
_FFN_OUT = ("fc2", "down_proj", "dense_4h_to_h")


@dataclass(frozen=True)
class ModelShape:
    """What the planner needs of a model, read from its config alone (a meta-device model: no weights)."""

    name: str
    layers: int
    d_model: int
    heads: int
    ffn_dim: int
    vocab: int
    params: int
    layer_params: int
    matmul_params: int
    tied_embeddings: bool
    dropout: float
    attention_dropout: float
    linear_shapes: tuple
    """(name within a layer, in_features, out_features) of the first decoder layer's matrices."""
    buffer_bytes: int = 0
    """Non-parameter tensors (e.g. XGLM's sinusoidal position table), in the weights' dtype."""
    bias_params: int = 0
    """Parameters of the model's bias terms (what BitFit trains)."""
    model_type: str = ""
    """transformers' `config.model_type` (the architecture table's key: LoRA's `auto` targets)."""
    sdpa: bool = True
    """Whether model.attention=sdpa gives this model a fused kernel (XGLM through xlpt's patch, others where
    transformers has an SDPA path; BLOOM has none)."""

    @property
    def root_params(self) -> int:
        """Parameters outside the decoder layers (embeddings, final norm, an untied LM head)."""
        return self.params - self.layers * self.layer_params


def known_config(name: str):
    """The transformers config of a model of KNOWN_MODELS, built without the network."""
    from transformers import AutoConfig

    model_type, sizes = KNOWN_MODELS[name]
    return AutoConfig.for_model(model_type, **sizes)


def _config(name: str):
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(name, local_files_only=True)
    except (OSError, ValueError):
        if name in KNOWN_MODELS:
            return known_config(name)
        raise ConfigError(f"cannot read the config of {name!r} without the network; give a local model folder or "
                          "download it once (the planner reads config.json only)") from None


@lru_cache(maxsize=None)
def model_shape(name: str) -> ModelShape:
    """The shape of the model `name`: a local folder's or the Hugging Face cache's config.json when there is
    one (what will be loaded), else the stored shape of one of KNOWN_MODELS (no torch import)."""
    if name in KNOWN_MODELS and not Path(name).is_dir() and not _in_hub_cache(name):
        stored = known_shapes().get(name)
        if stored is not None:
            return stored
    return shape_of(_config(name), name)


def _in_hub_cache(name: str) -> bool:
    """Whether the local Hugging Face cache holds this model's config.json (it then wins over KNOWN_MODELS)."""
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(name, "config.json"), str)


@lru_cache(maxsize=1)
def known_shapes() -> dict[str, ModelShape]:
    """KNOWN_SHAPES_FILE, read once: {hub name: ModelShape} (empty where the file is missing)."""
    if not KNOWN_SHAPES_FILE.is_file():
        return {}
    stored = json.loads(KNOWN_SHAPES_FILE.read_text(encoding="utf-8"))["shapes"]
    return {name: _shape_from_json(fields) for name, fields in stored.items()}


def _shape_from_json(fields: dict) -> ModelShape:
    return ModelShape(**{**fields, "linear_shapes": tuple(tuple(row) for row in fields["linear_shapes"])})


def write_known_shapes(path: Path = KNOWN_SHAPES_FILE) -> dict:
    """Build every KNOWN_MODELS shape on the meta device and store them (see KNOWN_SHAPES_FILE)."""
    import transformers

    shapes = {name: asdict(shape_of(known_config(name), name)) for name in sorted(KNOWN_MODELS)}
    payload = {"written_by": "python -m xlpt.sweeps.planner --write-known-shapes",
               "transformers": transformers.__version__, "shapes": shapes}
    path.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    return payload


def shape_of(config, name: str = "") -> ModelShape:
    """The shape of a model with this transformers config (built on the meta device: no memory, no weights)."""
    import torch
    from transformers import AutoModelForCausalLM
    from transformers.modeling_layers import GradientCheckpointingLayer

    from xlpt.training.flops import matmul_params

    with torch.device("meta"):
        lm = AutoModelForCausalLM.from_config(config)
    unique = {id(p): p.numel() for p in lm.parameters()}
    layers = [m for m in lm.modules() if isinstance(m, GradientCheckpointingLayer)]
    if not layers:
        raise ConfigError(f"{name}: cannot find its decoder layers; the planner knows transformers' decoder models")
    linears = tuple((n, *_in_out(m)) for n, m in layers[0].named_modules() if _in_out(m) is not None)
    embeddings = lm.get_input_embeddings()
    heads = next((getattr(config, k) for k in ("attention_heads", "num_attention_heads", "n_head") if
                  getattr(config, k, None)), 1)
    return ModelShape(
        name=name, layers=len(layers), d_model=embeddings.embedding_dim, heads=heads,
        ffn_dim=max(out for n, _, out in linears if n.endswith(_FFN_IN)) if any(n.endswith(_FFN_IN) for n, *_ in linears)
        else 4 * embeddings.embedding_dim,
        vocab=embeddings.num_embeddings, params=sum(unique.values()),
        layer_params=sum(p.numel() for p in layers[0].parameters()), matmul_params=matmul_params(lm),
        tied_embeddings=lm.get_output_embeddings() is not None and
        lm.get_output_embeddings().weight is embeddings.weight,
        dropout=float(next((getattr(config, k) for k in ("dropout", "hidden_dropout", "resid_pdrop")
                            if getattr(config, k, None) is not None), 0.0)),
        attention_dropout=float(next((getattr(config, k) for k in ("attention_dropout", "attn_pdrop")
                                      if getattr(config, k, None) is not None), 0.0)),
        linear_shapes=linears, buffer_bytes=sum(b.numel() * b.element_size() for b in lm.buffers()),
        bias_params=sum(p.numel() for n, p in lm.named_parameters() if n.endswith(".bias")),
        model_type=config.model_type, sdpa=config.model_type == "xglm" or bool(getattr(type(lm), "_supports_sdpa", False)))


# ---------------------------------------------------------------------------------------------- memory


@dataclass
class Memory:
    """Bytes per device for one training step (see the module docstring)."""

    devices: int
    sharded: bool
    batch_per_device: int
    seq_len: int
    weights: float = 0.0
    gradients: float = 0.0
    optimizer: float = 0.0
    activations: float = 0.0
    transient: float = 0.0

    @property
    def peak(self) -> float:
        return self.weights + self.optimizer + max(self.activations, self.gradients) + self.transient

    PARTS = ("weights", "gradients", "optimizer", "activations", "transient")

    def as_gb(self) -> dict:
        out = {key: round(getattr(self, key) / GB, 3) for key in self.PARTS}  # by name: a part may be an int
        return {**out, "peak": round(self.peak / GB, 3), "devices": self.devices, "sharded": self.sharded,
                "batch_per_device": self.batch_per_device, "seq_len": self.seq_len}


@dataclass(frozen=True)
class Trainable:
    """How a method trains: its trainable parameters and which decoder matrices keep their inputs."""

    lm: int = 0
    """LM weights that train (full fine-tuning: all)."""
    extra: int = 0
    """Float32 parameters the method adds: prompt, prefix, adapters, head."""
    backprop: bool = False
    """Gradients flow through the decoder (anything but a head on a frozen model)."""
    saved_inputs: frozenset = frozenset()
    """Which matrix inputs autograd keeps: attention (q/k/v), context (out_proj), ffn_in (fc1), ffn_out (fc2)."""
    prefix: int = 0
    prompt: int = 0


def trainable(cfg, task, shape: ModelShape) -> Trainable:
    """Ask the method record (never its name or its keys) what trains, and the task's family what its head adds."""
    record = cfg.method_record
    if not record.trains:
        return Trainable()
    head = task.family_record.head_parameters(task, cfg, shape.d_model)
    terms = record.planner_terms(cfg.method, shape)
    if terms.all_weights:
        saved = frozenset({"attention", "context", "ffn_in", "ffn_out"})
    else:
        saved = frozenset(_kind(name) for name in terms.adapted)
    return Trainable(lm=shape.params if terms.all_weights else 0, extra=terms.added + head, backprop=terms.backprop,
                     saved_inputs=saved, prefix=terms.prefix, prompt=terms.prompt)


def _in_out(module) -> tuple[int, int] | None:
    """(in, out) features of a matrix layer: torch's Linear, or GPT-2's Conv1D (its weight is stored in x out)."""
    import torch
    from transformers.pytorch_utils import Conv1D

    if isinstance(module, torch.nn.Linear):
        return module.in_features, module.out_features
    if isinstance(module, Conv1D):
        return module.weight.shape[0], module.nf
    return None


def _kind(name: str) -> str:
    for kind, names in (("attention", _ATTENTION), ("context", _CONTEXT), ("ffn_in", _FFN_IN), ("ffn_out", _FFN_OUT)):
        if name.endswith(names):
            return kind
    return "other"


def memory(cfg, task, shape: ModelShape, devices: int, seq_len: int, device_type: str = "cuda") -> Memory:
    """Per-device memory of one training step of `cfg` on `devices` processes (see the module docstring).
    `task`: the run's TaskSpec (its family says how large the task head is).
    `seq_len`: tokens of text per sequence (the soft prompt is added here); `device_type` decides what
    autocast=auto means and how large a dropout mask is (CUDA: 1 byte; CPU: the activation's size)."""
    train = cfg.train
    sharded = train.sharding == "full" and devices > 1
    what = trainable(cfg, task, shape)
    wb = DTYPE_BYTES[cfg.model.dtype]
    autocast = train.autocast in ("bf16", "fp16") or (train.autocast == "auto" and device_type == "cuda")
    cb = 2 if autocast else wb
    share = devices if sharded else 1
    b = math.ceil(train.batch_size / devices) if devices > 1 else train.batch_size
    tokens = seq_len + what.prompt
    mem = Memory(devices, sharded, b, tokens)
    mem.weights = (shape.params * wb + what.extra * 4) / share + shape.buffer_bytes
    mem.gradients = (what.lm * wb + what.extra * 4) / share
    mem.optimizer = 2 * mem.gradients
    if not cfg.method_record.trains:
        return mem
    keys = tokens + what.prefix
    attention = b * shape.heads * tokens * keys  # score elements per layer
    layer = _layer_activations(shape, what, b, tokens, keys, cb, wb, autocast, cfg, device_type)
    if train.gradient_checkpointing:
        mem.activations = shape.layers * b * tokens * shape.d_model * wb + layer
    else:
        mem.activations = shape.layers * layer
    mem.activations += b * tokens * shape.d_model * wb  # the final layer norm's input
    softmax_bytes = 4 if autocast else wb
    # Backward temporaries (~1.5 score tensors) or, with nothing to backpropagate, the forward's own (scores, masked
    # scores, their maximum and softmax of one layer alive at once), plus the 4-D attention mask. With SDPA the
    # backward pass works on blocks and holds no score tensor; a forward pass without gradients (CPU) one.
    if fused_attention(cfg, shape):
        copies = 0 if what.backprop else 1
    else:
        copies = 1.5 if what.backprop else 3
    mem.transient = copies * attention * softmax_bytes + b * tokens * keys * wb
    if what.lm and shape.tied_embeddings:
        # The tied table's gradient arrives twice, dense (embedding lookup, LM-head rows) and is summed into .grad:
        # two more table-sized tensors at the end of the backward pass.
        mem.transient += 2 * shape.vocab * shape.d_model * wb
    if sharded:
        gathered = shape.root_params + 2 * shape.layer_params
        mem.transient += gathered * cb + (gathered * 4 if what.lm else 0)
    return mem


def fused_attention(cfg, shape) -> bool:
    """Whether attention runs as a fused SDPA kernel (model.attention=sdpa on XGLM, which xlpt patches;
    transformers' own SDPA path for others is assumed where the config asks for it)."""
    return cfg.model.attention == "sdpa" and shape.sdpa


def _layer_activations(shape, what: Trainable, b, tokens, keys, cb, wb, autocast, cfg, device_type) -> float:
    """Bytes autograd keeps for one decoder layer (see the module docstring)."""
    if not what.backprop:
        return 0.0
    d, f = shape.d_model, shape.ffn_dim
    per_token = 2 * d * wb  # the two layer norms' inputs (the residual stream)
    per_token += d * cb + 2 * d * cb * keys / tokens  # q, and k and v (over the prefix too)
    per_token += f * cb  # the GELU's input
    saved = what.saved_inputs
    if "attention" in saved:
        per_token += d * cb * (3 if autocast else 1)
    if "context" in saved:
        per_token += d * cb
    if "ffn_in" in saved:
        per_token += d * cb
    if "ffn_out" in saved:
        per_token += f * cb
    fused = fused_attention(cfg, shape)
    # eager keeps scores and probabilities (H x K per token); a fused SDPA kernel keeps its output's
    # log-sum-exp (H float32 per token) and recomputes the rest in the backward pass
    scores = shape.heads * 4 if fused else shape.heads * keys * ((4 + 4 + 2) if autocast else 2 * wb)
    if cfg.train.dropout == "model":
        mask = 1 if device_type == "cuda" else cb
        per_token += 2 * d * mask * (shape.dropout > 0)
        if not fused:  # SDPA draws its dropout inside the kernel
            per_token += shape.heads * keys * mask * (shape.attention_dropout > 0)
    return b * tokens * (per_token + scores)


# ---------------------------------------------------------------------------------------------- devices, time


@dataclass
class Plan:
    """What `--dry-run` prints for one run."""

    model: str
    method: str
    memory: dict
    """Per device, in GB, with the devices the run is planned on (see `devices_needed`)."""
    devices: int | None
    """Fewest GPUs of GPU_MEMORY_GB the run fits on (None: not even DEVICE_COUNTS[-1])."""
    sharded: bool
    fits: bool
    """Whether `memory` (on the devices asked for, or the fewest) fits one GPU."""
    flops: float
    gpu_hours: float
    gpu: str
    gpu_memory_gb: float
    mfu: float
    notes: list = field(default_factory=list)
    flop_seconds: float = 0.0
    """Seconds the FLOPs take at the stated MFU and the micro-batch's small-batch efficiency."""
    overhead_seconds: float = 0.0
    """Seconds the host needs to issue every kernel (kernels x LAUNCH_SECONDS)."""
    kernels_per_step: int = 0
    """Kernels of one training micro-batch (forward + backward where gradients flow)."""
    tokens_per_micro_batch: float = 0.0
    efficiency: float = 1.0
    """Small-batch efficiency applied to the MFU (1 at SATURATION_TOKENS tokens per micro-batch and above)."""

    @property
    def bound(self) -> str:
        """What bounds the run: "FLOPs" or "overhead" (kernel launches), whichever takes longer."""
        return "overhead" if self.overhead_seconds > self.flop_seconds else "FLOPs"


def describe_assumptions(gpu: str = GPU, gpu_memory_gb: float = GPU_MEMORY_GB, mfu: float = MFU) -> str:
    from xlpt.training.flops import PEAK_FLOPS

    return (f"{gpu} GPUs of {gpu_memory_gb:g} GB (a run fits at <= {USABLE:.0%} of it), {mfu:.0%} MFU of "
            f"{PEAK_FLOPS[gpu] / 1e12:.0f} TFLOP/s bf16 from {SATURATION_TOKENS} tokens per micro-batch "
            f"(fewer: x sqrt(n / {SATURATION_TOKENS})), eager PyTorch at {LAUNCH_SECONDS * 1e6:g} us of host time per "
            f"kernel ({KERNELS_PER_LAYER} per layer forward, x3 with backward, + {KERNELS_FIXED} per micro-batch); "
            "time = the larger of FLOP time and kernel time; sequences padded to data.max_length for memory")


def step_kernels(shape: ModelShape, backprop: bool, dropout: bool = False) -> int:
    """Kernels one micro-batch issues: forward, and backward (~2x the forward's) when gradients flow."""
    per_layer = KERNELS_PER_LAYER + (3 if dropout else 0)
    return KERNELS_FIXED + shape.layers * per_layer * (3 if backprop else 1)


def small_batch_efficiency(tokens: float) -> float:
    """Share of the stated MFU that matmuls over `tokens` rows reach (see the module docstring)."""
    if tokens <= 0:
        return 1.0
    return min(1.0, math.sqrt(tokens / SATURATION_TOKENS))


def run_seconds(flops: float, kernels: float, tokens_per_micro_batch: float, mfu: float, peak: float) -> tuple[float, float, float]:
    """(FLOP seconds, overhead seconds, efficiency) of work of `flops` issued as `kernels` kernels."""
    efficiency = small_batch_efficiency(tokens_per_micro_batch)
    return flops / (mfu * efficiency * peak), kernels * LAUNCH_SECONDS, efficiency


def devices_needed(cfg, task, shape: ModelShape, seq_len: int, gpu_memory_gb: float) -> tuple[int | None, bool, Memory]:
    """(fewest devices, sharded?, memory there). Unsharded data parallelism cannot lower the weights and
    optimizer memory, so a run that does not fit one device is planned sharded (train.sharding=full)."""
    capacity = USABLE * gpu_memory_gb * GB
    one = memory(cfg, task, shape, 1, seq_len)
    if one.peak <= capacity:
        return 1, False, one
    sharded_cfg = cfg.model_copy(deep=True)
    sharded_cfg.train.sharding = "full"
    for n in DEVICE_COUNTS[1:]:
        mem = memory(sharded_cfg, task, shape, n, seq_len)
        if mem.peak <= capacity:
            return n, True, mem
    return None, True, memory(sharded_cfg, task, shape, DEVICE_COUNTS[-1], seq_len)


def plan(cfg, task, train_tokens: int, selection_tokens: int, eval_tokens: int,
         gpu_memory_gb: float = GPU_MEMORY_GB, mfu: float = MFU, gpu: str = GPU, seq_len: int | None = None,
         devices: int | None = None, steps: int | None = None, eval_sequences: int | None = None) -> Plan:
    """The plan for `cfg` with the token counts of sweeps.estimate. `seq_len` (default data.max_length, the
    worst case: a micro-batch padded to the longest possible text) sets the activations. `devices`: show the
    memory on that many GPUs, as configured (train.sharding), instead of on the fewest that fit. `steps`:
    optimizer steps (for the kernel count and tokens per micro-batch; without it, micro-batches of
    train.batch_size x seq_len tokens are assumed). `eval_sequences`: sequences of dev selection and
    evaluation (their forward kernels; without it, evaluation counts FLOPs only)."""
    from xlpt.training.flops import PEAK_FLOPS

    if not 0 < mfu <= 1:
        raise ConfigError(f"--mfu must be in (0, 1], got {mfu}")
    if gpu not in PEAK_FLOPS:
        raise ConfigError(f"--gpu {gpu!r}: known GPUs are {', '.join(PEAK_FLOPS)}")
    shape = model_shape(cfg.model.name)
    seq_len = seq_len or cfg.data.max_length
    n, sharded, mem = devices_needed(cfg, task, shape, seq_len, gpu_memory_gb)
    if devices is not None:
        mem = memory(cfg, task, shape, devices, seq_len)
        sharded = mem.sharded
    record = cfg.method_record
    recompute = 2 if cfg.train.gradient_checkpointing else 0
    per_train_token = (6 if record.updates_all_weights else 4) + recompute
    train_flops = shape.matmul_params * per_train_token * train_tokens
    eval_flops = shape.matmul_params * 2 * (selection_tokens + eval_tokens)
    flops = train_flops + eval_flops
    train = cfg.train
    gpus = n if devices is None else devices
    gpus = gpus or DEVICE_COUNTS[-1]
    if steps:
        micro_batches = steps * train.grad_accum
        tokens_per_micro = train_tokens / micro_batches / gpus if train_tokens else 0.0
    else:
        tokens_per_micro = math.ceil(train.batch_size / gpus) * seq_len
        micro_batches = train_tokens / (tokens_per_micro * gpus) if train_tokens else 0.0
    what = trainable(cfg, task, shape)
    dropout = cfg.train.dropout == "model" and shape.dropout > 0
    kernels = step_kernels(shape, what.backprop, dropout) if record.trains else 0
    peak = PEAK_FLOPS[gpu] * gpus
    flop_s, overhead_s, efficiency = run_seconds(train_flops, kernels * micro_batches, tokens_per_micro, mfu, peak)
    eval_batches = math.ceil(eval_sequences / train.eval_batch_size) if eval_sequences else 0
    eval_tokens_per_batch = (selection_tokens + eval_tokens) / eval_batches if eval_batches else SATURATION_TOKENS
    eval_flop_s, eval_overhead_s, _ = run_seconds(eval_flops, eval_batches * step_kernels(shape, False),
                                                  eval_tokens_per_batch, mfu, peak)
    flop_s, overhead_s = flop_s + eval_flop_s, overhead_s + eval_overhead_s
    seconds = max(flop_s, overhead_s)
    notes = []
    if overhead_s > flop_s:  # Plan.bound says the same
        notes.append(f"bound by kernel launches, not FLOPs: {kernels} kernels per micro-batch x "
                     f"{LAUNCH_SECONDS * 1e6:g} us = {overhead_s:.3g} s against {flop_s:.3g} s of FLOPs "
                     f"({tokens_per_micro:.0f} tokens per micro-batch); larger micro-batches or model.compile "
                     "(fewer, fused kernels; CUDA graphs with mode=reduce-overhead) shorten it")
    else:
        notes.append(f"bound by FLOPs: {flop_s:.3g} s of FLOPs (small-batch efficiency {efficiency:.2f} at "
                     f"{tokens_per_micro:.0f} tokens per micro-batch) against {overhead_s:.3g} s of kernel launches "
                     f"({kernels} per micro-batch)")
    if record.updates_all_weights and cfg.model.dtype != "float32":
        notes.append(f"model.dtype={cfg.model.dtype} with full fine-tuning updates {cfg.model.dtype} weights: AdamW "
                     f"steps of a learning rate like {cfg.learning_rate:g} mostly round away; use model.dtype=float32 "
                     "with train.sharding=full (bf16 compute, float32 master weights)")
    if n is not None and n > 1 and cfg.train.sharding != "full":
        notes.append(f"does not fit one {gpu_memory_gb:g} GB GPU: set train.sharding=full and run on {n} GPUs")
    if n is not None and n > 1 and cfg.train.batch_size % n:
        notes.append(f"train.batch_size={cfg.train.batch_size} does not divide over {n} GPUs: some process a stand-in "
                     f"example; use a multiple of {n} (and lower train.grad_accum to keep the effective batch)")
    if n is None:
        notes.append(f"does not fit {DEVICE_COUNTS[-1]} GPUs of {gpu_memory_gb:g} GB at this batch size")
    fits = mem.peak <= USABLE * gpu_memory_gb * GB
    if devices is not None and not fits:
        notes.append(f"on {devices} GPUs of {gpu_memory_gb:g} GB this does not fit"
                     + ("" if mem.sharded or devices == 1 else " (train.sharding=none keeps a whole copy per GPU)"))
    return Plan(cfg.model.name, cfg.method.name, mem.as_gb(), n, sharded, fits, flops,
                seconds * gpus / 3600, gpu, gpu_memory_gb, mfu, notes, flop_seconds=flop_s,
                overhead_seconds=overhead_s, kernels_per_step=kernels, tokens_per_micro_batch=tokens_per_micro,
                efficiency=efficiency)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Store the shapes of the preset models for torch-free dry runs.")
    parser.add_argument("--write-known-shapes", action="store_true", help=f"rewrite {KNOWN_SHAPES_FILE.name}")
    if parser.parse_args().write_known_shapes:
        print(f"wrote {len(write_known_shapes()['shapes'])} shapes to {KNOWN_SHAPES_FILE}")
