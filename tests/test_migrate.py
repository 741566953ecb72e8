"""``flywheel migrate SRC DST``: an embedded store into PostgreSQL and back, nothing left behind."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from flywheel_middleware import Flywheel, Interaction
from flywheel_middleware.cli import app
from flywheel_middleware.store import ExportInfo

runner = CliRunner()


def _snapshot(fw: Flywheel) -> dict:
    store = fw.store
    items = sorted(fw.interactions(limit=None), key=lambda it: it.id)
    ids = [it.id for it in items]
    found, vectors = store.embeddings_for([store.key_of(i) for i in ids])
    return {
        "interactions": [it.to_dict() for it in items],
        "vectors": [v.round(5).tolist() for v in vectors[found]],
        "signals": {i: sorted(s.to_dict()["id"] for s in sig) for i, sig in store.signals_for(ids).items()},
        "rewards": {i: tuple(r) for i, r in store.rewards_for(ids).items()},
        "opted_out": sorted(store.opted_out_hashes()),
        "erased": store.erasure_tombstones(),
        "exports": [(e.version, e.path, sorted(store.export_members(e), key=str)) for e in store.exports()],
        "user_key": store.export_user_key().hex(),
    }


def test_an_embedded_store_goes_into_postgres_and_back(tmp_path, postgres_url, embedder):
    src = tmp_path / "embedded"
    with Flywheel(src, embedder=embedder, flush_interval_s=0.05) as fw:
        ids = [fw.record(Interaction(input=f"How do I track order {i}?", output="With the tracking link.",
                                     session_id=f"s{i % 3}", user_id=f"u{i % 4}")) for i in range(12)]
        assert fw.flush(60)
        fw.feedback(ids[0], "thumbs_up")
        fw.feedback(ids[1], "rating", 2)
        assert fw.flush(60)
        fw.opt_out("u-gone")
        fw.store.add_erasure("a" * 32, 1_700_000_000.0)
        fw.store.register_export(ExportInfo("sft-v1", "sft", str(tmp_path / "out"), 1_700_000_000.0, 2, 2, 1),
                                 [("uh-1", ids[0]), ("uh-1", ids[1])], {"kind": "sft"})
        before = _snapshot(fw)
    result = runner.invoke(app, ["migrate", str(src), postgres_url, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["interactions"] == 12
    with Flywheel(postgres_url, queue_dir=str(tmp_path / "q"), embedder=embedder, start_worker=False) as pg:
        assert _snapshot(pg) == before
        assert [it.id for it, _ in pg.search("track order 5", k=1)] == [ids[5]]
    back = tmp_path / "back"
    result = runner.invoke(app, ["migrate", postgres_url, str(back)])
    assert result.exit_code == 0, result.output
    assert "interactions" in result.output
    with Flywheel(back, embedder=embedder, start_worker=False) as copy:
        assert _snapshot(copy) == before
        assert len(copy.index) == 12


def test_migrate_refuses_a_destination_that_already_holds_interactions(tmp_path, postgres_url, embedder):
    src = tmp_path / "embedded"
    with Flywheel(src, embedder=embedder, flush_interval_s=0.05) as fw:
        fw.record(Interaction(input="one question", output="one answer"))
        assert fw.flush(60)
    assert runner.invoke(app, ["migrate", str(src), postgres_url]).exit_code == 0
    result = runner.invoke(app, ["migrate", str(src), postgres_url])
    assert result.exit_code == 2 and "already holds interactions" in result.output
    assert runner.invoke(app, ["migrate", str(src), postgres_url, "--force"]).exit_code == 0
