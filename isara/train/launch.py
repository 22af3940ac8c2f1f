"""How a fine-tuning stage starts its processes: itself for one process, `accelerate launch` for
several (DDP) or for an accelerate config file (FSDP, DeepSpeed, several machines).

The stage's command in dvc.yaml stays `python stages/finetune.py ...`; with
`finetune.num_processes` > 1 or `finetune.accelerate_config` set, the stage re-executes itself
under `accelerate launch`, with an argument list built here from validated params (no shell), so
that `dvc exp run -S finetune.num_processes=8` is all a user types.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Sequence

from isara.config.training import Finetune
from isara.errors import IsaraError

LAUNCHED = "ISARA_LAUNCHED"  # set in the launched processes, so that they do not launch again


def distributed() -> bool:
    """Whether this process is one of several started by a launcher (accelerate, torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def launch_argv(cfg: Finetune, script: str, args: Sequence[str], on_cpu: bool, cores: int) -> list[str] | None:
    """The `accelerate launch` command that runs `script args` as `cfg` asks, or None for one plain
    process. On a CPU each process gets its share of the cores (`cores` // processes)."""
    if cfg.num_processes == 1 and not cfg.accelerate_config:
        return None
    argv = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", str(cfg.num_processes)]
    if cfg.accelerate_config:
        config = Path(cfg.accelerate_config)
        if not config.is_file():
            raise IsaraError(f"finetune.accelerate_config: {config} is not a file")
        argv += ["--config_file", str(config)]
    else:
        # "multi_gpu" is accelerate's name for plain DDP; on a CPU it runs over gloo. Port 0: a free port, so that
        # stages side by side on one machine (`dvc queue start -j 2`) do not both ask for 29500
        argv += ["--multi_gpu", "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
                 "--main_process_port", "0"]
    if on_cpu:
        argv += ["--num_cpu_threads_per_process", str(max(1, cores // cfg.num_processes))]
    return argv + [script, *args]


def relaunch_if_needed(cfg: Finetune, on_cpu: bool) -> None:
    """Replace this process by `accelerate launch` of the same stage when `cfg` asks for it."""
    if os.environ.get(LAUNCHED) or distributed():
        return
    from isara.devices import cpu_threads

    argv = launch_argv(cfg, sys.argv[0], sys.argv[1:], on_cpu, cpu_threads(1))
    if argv is None:
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(argv[0], argv, {**os.environ, LAUNCHED: "1"})


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def sharded_by_accelerate() -> bool:
    """Whether accelerate places and shards the model itself (FSDP, DeepSpeed)."""
    return any(os.environ.get(flag, "").lower() in ("1", "true")
               for flag in ("ACCELERATE_USE_FSDP", "ACCELERATE_USE_DEEPSPEED"))


def train_device(spec: str):
    """The device this training process loads the model on: its own GPU (LOCAL_RANK) when launched
    over several, the CPU when FSDP or DeepSpeed will shard it, else model.device (a `cuda:N` there
    also becomes the current device, so that Trainer and accelerate use it)."""
    import torch

    from isara.devices import resolve_device

    device = resolve_device(spec)
    if device.type != "cuda":
        return device
    if sharded_by_accelerate():
        return torch.device("cpu")
    if distributed():
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    if device.index is not None:
        torch.cuda.set_device(device)
    return device
