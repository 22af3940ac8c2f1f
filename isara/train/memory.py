"""How much memory a fine-tune needs per device, estimated from the model's config before any
weight is loaded, so that a run that cannot fit stops at once with what to change.

Per device: the weights (float32 master weights for full fine-tuning; the base in its dtype plus
float32 adapters for LoRA), their gradients and the optimizer state (AdamW: two float32 moments,
8-bit: two bytes a parameter), divided over the processes when the accelerate config shards them
(FSDP, DeepSpeed ZeRO-3; ZeRO-1/2 shard only the optimizer state and gradients); and the
activations of one micro-batch (Korthikanti et al. 2022: 34·h bytes a token a layer in 16-bit with
fused attention, which keeps no s x s scores; 2·h with gradient checkpointing) plus its float32
logits. Sequences count at finetune.max_length: an upper bound.
"""

from __future__ import annotations

from dataclasses import dataclass

GIB = 1024 ** 3
ADAM_BYTES = {"adamw_torch": 8, "adamw_torch_fused": 8, "adamw_8bit": 2, "paged_adamw_8bit": 2}


@dataclass(frozen=True)
class Shape:
    """What the estimate reads from a model config."""

    params: int
    layers: int
    hidden: int
    vocab: int
    lora_params: int = 0  # adapter parameters for the configured LoRA rank and targets


@dataclass(frozen=True)
class Need:
    weights: float
    gradients: float
    optimizer: float
    activations: float

    @property
    def total(self) -> float:
        return self.weights + self.gradients + self.optimizer + self.activations


def training_need(shape: Shape, *, method: str, weight_bytes: int, autocast: bool, batch: int, seq: int,
                  checkpointing: bool, optimizer: str, shards: int = 1, shard_weights: bool = False) -> Need:
    """Bytes per device. `shards`: processes the accelerate config spreads optimizer state and
    gradients over (and the weights too when `shard_weights`: FSDP, ZeRO-3)."""
    if method == "lora":
        trained = shape.lora_params
        weights = shape.params * weight_bytes + trained * 4
    else:
        trained = shape.params
        weights = trained * 4
    gradients = trained * 4
    optimizer_state = trained * ADAM_BYTES[optimizer]
    if shards > 1:
        gradients, optimizer_state = gradients / shards, optimizer_state / shards
        if shard_weights:
            weights = weights / shards
    act_bytes = 2 if autocast or weight_bytes == 2 else 4
    tokens = batch * seq
    per_layer = (2 if checkpointing else 34) * shape.hidden * act_bytes / 2
    logits = tokens * shape.vocab * (act_bytes + 8)  # the logits, their float32 copy and its gradient
    activations = tokens * per_layer * shape.layers + logits
    return Need(weights, gradients, optimizer_state, activations)


def shape_of(config, lora_r: int = 0, lora_targets: str | list = "all-linear") -> Shape:
    """Parameter counts of a transformers config, built on the meta device (no memory, no weights)."""
    import torch
    from accelerate import init_empty_weights
    from transformers import AutoModelForCausalLM

    with init_empty_weights():
        model = AutoModelForCausalLM.from_config(config)
    params = sum(p.numel() for p in model.parameters())
    lora = 0
    if lora_r:
        targets = None if lora_targets == "all-linear" else set(
            [lora_targets] if isinstance(lora_targets, str) else lora_targets)
        output = model.get_output_embeddings()
        for name, module in model.named_modules():
            if isinstance(module, torch.nn.Linear) and module is not output and \
                    (targets is None or name.rsplit(".", 1)[-1] in targets):
                lora += lora_r * (module.in_features + module.out_features)
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    return Shape(params=params, layers=text.num_hidden_layers, hidden=text.hidden_size, vocab=text.vocab_size,
                 lora_params=lora)


def sharding(accelerate_config: dict, processes: int) -> tuple[int, bool]:
    """(shards, whether the weights are sharded too) for an accelerate config's distributed type."""
    kind = str(accelerate_config.get("distributed_type", "")).upper()
    if kind == "FSDP":
        return processes, True
    if kind == "DEEPSPEED":
        stage = int((accelerate_config.get("deepspeed_config") or {}).get("zero_stage", 0) or 0)
        return (processes, stage >= 3) if stage >= 1 else (1, False)
    return 1, False


def available_bytes(device) -> int:
    """Memory a process on `device` can use: the GPU's free memory, or the host's available RAM."""
    import torch

    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import os

    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def advice(method: str, checkpointing: bool, shards: int) -> str:
    hints = []
    if method != "lora":
        hints.append("finetune.method=lora")
    if not checkpointing:
        hints.append("finetune.gradient_checkpointing=true")
    hints.append("a smaller finetune.batch_size or max_length (raise grad_accum to keep the batch)")
    if shards == 1:
        hints.append("more processes with FSDP or DeepSpeed ZeRO-3 (finetune.num_processes, finetune.accelerate_config)")
    return "; ".join(hints)


def fit_message(need: Need, available: int, device, processes: int, method: str, checkpointing: bool,
                shards: int) -> str | None:
    """None when `need` fits in `available`, else the one line that says so and what to change."""
    if need.total <= available:
        return None
    share = f" ({processes} processes share the host)" if device.type == "cpu" and processes > 1 else ""
    return (f"fine-tuning needs about {need.total / GIB:.1f} GiB per process (weights {need.weights / GIB:.1f}, "
            f"gradients {need.gradients / GIB:.1f}, optimizer {need.optimizer / GIB:.1f}, activations "
            f"{need.activations / GIB:.1f}) but {device} has {available / GIB:.1f} GiB{share}: try "
            f"{advice(method, checkpointing, shards)}; finetune.check_memory=false skips this check")


def check_training_memory(start: str, cfg, dtype, device, processes: int) -> None:
    """Raise IsaraError (one line) when fine-tuning `start` as `cfg` (params.yaml finetune) asks
    cannot fit on `device`; reads only the model's config."""
    import json
    from pathlib import Path

    from isara.errors import IsaraError
    from isara.lm.models import open_config

    config = open_config(start)
    if config is None:
        return
    shape = shape_of(config, cfg.lora.r if cfg.method == "lora" else 0, cfg.lora.target_modules)
    accelerate_config = {}
    if cfg.accelerate_config and Path(cfg.accelerate_config).is_file():
        import yaml

        text = Path(cfg.accelerate_config).read_text(encoding="utf-8")
        loaded = json.loads(text) if cfg.accelerate_config.endswith(".json") else yaml.safe_load(text)
        accelerate_config = loaded if isinstance(loaded, dict) else {}
    shards, shard_weights = sharding(accelerate_config, processes)
    weight_bytes = 4 if cfg.method != "lora" else (2 if dtype.itemsize == 2 else 4)
    need = training_need(shape, method=cfg.method, weight_bytes=weight_bytes, autocast=dtype.itemsize == 2,
                         batch=cfg.batch_size, seq=cfg.max_length, checkpointing=cfg.gradient_checkpointing,
                         optimizer=cfg.optimizer, shards=shards, shard_weights=shard_weights)
    available = available_bytes(device)
    if device.type == "cpu":
        available //= processes
    message = fit_message(need, available, device, processes, cfg.method, cfg.gradient_checkpointing, shards)
    if message:
        raise IsaraError(message)
