"""Export a versioned SFT/DPO dataset from a flywheel store and LoRA-train a model on it. Offline.

    python examples/export_and_train.py [--base-model PATH]

Without --base-model a tiny random Llama is built locally (the pipeline runs in seconds; the
model learns nothing useful). Point --base-model at any local Hugging Face causal LM folder with a
chat template for real training; `flywheel train sft --data ... --base-model ...` does the same.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from flywheel_middleware import Flywheel, Interaction


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-model")
    parser.add_argument("--out", default=tempfile.mkdtemp(prefix="flywheel-train-"))
    args = parser.parse_args()
    out = Path(args.out)

    from flywheel_middleware.trainers import DPOTrainConfig, SFTTrainConfig, build_tiny_model, train_dpo, train_sft

    with Flywheel(out / "store", worker_mode="thread") as fw:  # a short script: ingest in this process
        for i in range(12):  # traffic an app would have recorded, judged by its users
            good = Interaction(input=f"How do I reset my password? ({i})", output="Settings > Security > Reset password.",
                               session_id=f"s{i}", user_id=f"u{i}")
            bad = Interaction(input=f"How long do refunds take? ({i})", output="About 30 days.", session_id=f"s{i}", user_id=f"u{i}")
            fw.record(good)
            fw.record(bad)
            fw.flush()
            fw.feedback(good.id, "thumbs_up", actor=f"u{i}")
            fw.correct(bad.id, "Refunds arrive within 5 business days.", actor=f"u{i}")
        fw.flush()
        sft = fw.export("sft", out / "exports" / "sft")
        dpo = fw.export("dpo", out / "exports" / "dpo")
    print(f"sft {sft.version}: {sft.train} train / {sft.eval} eval rows;  dpo {dpo.version}: {dpo.rows} pairs")

    base = args.base_model or str(build_tiny_model(out / "tiny-model"))
    quick = args.base_model is None
    sft_run = train_sft(sft.path, base, out / "adapters" / "sft",
                        SFTTrainConfig(max_steps=8) if quick else None, registry=out / "models")
    dpo_run = train_dpo(dpo.path, base, out / "adapters" / "dpo",
                        DPOTrainConfig(max_steps=4) if quick else None, registry=out / "models", parent=sft_run.adapter_id)
    for run in (sft_run, dpo_run):
        print(f"{run.method}: adapter {run.adapter_dir} (dataset {run.dataset_version}, loss {run.train_loss})")
    print(f"lineage: flywheel models --registry {out / 'models'}")


if __name__ == "__main__":
    main()
