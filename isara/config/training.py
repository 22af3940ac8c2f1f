"""params.yaml `mix:` and `finetune:`: what a round trains on, and how its model is fine-tuned (full or
LoRA, one or many processes)."""

from __future__ import annotations

from dataclasses import dataclass, field

from isara.config.validators import choice as _choice
from isara.config.validators import integer as _integer
from isara.config.validators import in_range as _in_range
from isara.config.validators import positive as _positive
from isara.config.names import BATCH_MAX, CONFIG_FILE, LENGTH_MAX, OPTIMIZERS, WORKERS_MAX
from isara.errors import IsaraError


@dataclass(frozen=True)
class Mix:
    by_label: bool = True  # labelled rows: safe ones carry safe_share of the training weight (D0 gamma within a label)
    safe_share: float = 0.5  # by_label: the share of the training weight on rows labelled safe
    max_generated_ratio: float = 0.0  # > 0: a generated row weighs at most this many D0 rows of its label
    general_size: int = 0  # general instruction pairs (Self-Instruct seed tasks) in every training mix; 0 = none
    general_share: float = 0.5  # general_size > 0: their share of the training weight

    def __post_init__(self):
        _in_range("mix.safe_share", self.safe_share, 0.0, 1.0)
        _in_range("mix.max_generated_ratio", self.max_generated_ratio, 0.0, 1000.0)
        _integer("mix.general_size", self.general_size, 0)
        _in_range("mix.general_share", self.general_share, 0.0, 1.0, high_open=True)


@dataclass(frozen=True)
class Lora:
    r: int = 8  # adapter rank
    alpha: int = 16  # scaling numerator (scale = alpha / r)
    dropout: float = 0.05
    target_modules: str = "all-linear"  # peft target_modules

    def __post_init__(self):
        _positive("finetune.lora.r", self.r, 4096)
        _positive("finetune.lora.alpha", self.alpha, 65536)
        _in_range("finetune.lora.dropout", self.dropout, 0.0, 1.0, high_open=True)


OBJECTIVES = ("sft", "sft+dpo")


@dataclass(frozen=True)
class Dpo:
    """The preference step after SFT (finetune.objective: sft+dpo): TRL's DPOTrainer on the round's own
    contrast pairs (stage preferences), the round's SFT model as the reference."""
    beta: float = 0.1  # strength of the pull towards the reference (higher: closer to the SFT model)
    learning_rate: float = 5.0e-6
    epochs: float = 2  # passes over the round's preference pairs

    def __post_init__(self):
        _in_range("finetune.dpo.beta", self.beta, 0.0, 100.0, low_open=True)
        _in_range("finetune.dpo.learning_rate", self.learning_rate, 0.0, 1.0, low_open=True)
        _in_range("finetune.dpo.epochs", self.epochs, 0.0, 1000.0, low_open=True)


@dataclass(frozen=True)
class Finetune:
    method: str = "full"  # full | lora (peft adapters)
    save: str = "merged"  # lora: merged (a full checkpoint) | adapter (the adapter, applied on the base at load)
    init_from: str = "previous"  # previous (round t starts from round t-1's model) | base
    epochs: float = 3  # passes over the mixed training set
    learning_rate: float = 1e-4
    batch_size: int = 8  # examples per optimizer step (per device)
    grad_accum: int = 1  # gradient accumulation steps
    warmup_ratio: float = 0.05
    weight_decay: float = 0.0
    max_length: int = 512  # prompt+answer tokens; longer examples are truncated from the answer end
    gradient_checkpointing: bool = False  # trade compute for memory on big models
    optimizer: str = "adamw_torch_fused"  # adamw_torch_fused | adamw_torch | adamw_8bit (bitsandbytes) | paged_adamw_8bit
    num_processes: int = 1  # data-parallel processes (accelerate launch), one per GPU or a share of the CPU cores
    accelerate_config: str = ""  # accelerate config file (FSDP, DeepSpeed, several machines); "" = plain DDP
    save_steps: int = 50  # checkpoint every this many optimizer steps, to resume after a crash (0 = never)
    keep_checkpoints: int = 2  # newest checkpoints kept: 2 lets a damaged last one fall back to the one before
    check_memory: bool = True  # stop before loading weights when the estimate exceeds the device's memory
    lora: Lora = field(default_factory=Lora)
    objective: str = "sft"  # sft | sft+dpo (SFT, then DPO on the round's preference pairs)
    dpo: Dpo = field(default_factory=Dpo)

    def check_objective(self, key: str, objective: str) -> None:
        """`objective` (finetune.objective or a run's own) is known and fits these settings."""
        _choice(key, objective, OBJECTIVES)
        if objective == "sft+dpo" and self.save == "adapter":
            raise IsaraError(f"params.yaml: {key} sft+dpo merges the SFT adapter before DPO: use finetune.save: merged")

    def __post_init__(self):
        _choice("finetune.method", self.method, ("full", "lora"))
        _choice("finetune.init_from", self.init_from, ("previous", "base"))
        _in_range("finetune.epochs", self.epochs, 0.0, 1000.0, low_open=True)
        _in_range("finetune.learning_rate", self.learning_rate, 0.0, 1.0, low_open=True)
        _positive("finetune.batch_size", self.batch_size, BATCH_MAX)
        _positive("finetune.grad_accum", self.grad_accum, BATCH_MAX)
        _in_range("finetune.warmup_ratio", self.warmup_ratio, 0.0, 1.0, high_open=True)  # 1 would never reach the peak
        _in_range("finetune.weight_decay", self.weight_decay, 0.0, 1.0)
        _positive("finetune.max_length", self.max_length, LENGTH_MAX)
        _choice("finetune.save", self.save, ("merged", "adapter"))
        if self.save == "adapter" and self.method != "lora":
            raise IsaraError("params.yaml: finetune.save: adapter needs finetune.method: lora")
        _choice("finetune.optimizer", self.optimizer, OPTIMIZERS)
        self.check_objective("finetune.objective", self.objective)
        _positive("finetune.num_processes", self.num_processes, WORKERS_MAX)
        _integer("finetune.save_steps", self.save_steps, 0)
        _integer("finetune.keep_checkpoints", self.keep_checkpoints, 1, 1000)
        if self.accelerate_config and not CONFIG_FILE.match(self.accelerate_config):
            raise IsaraError(f"params.yaml: finetune.accelerate_config must be a .yaml, .yml or .json file path "
                             f"without '..', got {self.accelerate_config!r}")
