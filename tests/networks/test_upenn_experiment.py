"""Fig. 5 pipeline at toy scale: per-network run, panels, U rows, evaluate CLI, resume."""

import json

import pytest
import torch

from networks.config import UPENNConfig
from networks.evaluate import main as evaluate_main
from networks.experiments.upenn_figures import make_fig5
from networks.experiments.upenn_run import parse_variant, run_variant

pytestmark = pytest.mark.long

torch.set_num_threads(1)

CFG = UPENNConfig(base_width=2, image_size=16, epochs=1, train_samples=64,
                  pretrain_dataset="digits", batch_size=32, datasets=["lfw", "textures"],
                  k_shot=3, eval_samples=30, relearn_samples=40, relearn_epochs=1)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("upenn")
    out = {}
    for v in ("upenn", "contrast_net_nobn"):
        out[v] = run_variant(v, CFG, root / v, root / "ck" / v, seed=3)
    return root, out


def test_metrics_of_both_networks(runs):
    root, ms = runs
    assert ms["upenn"]["weighted_layers"] == 54 and ms["upenn"]["cross_layer_modules"] == 16
    assert ms["contrast_net_nobn"]["weighted_layers"] == 50
    for m in ms.values():
        for key in ("without_training", "relearning"):
            assert set(m[key]) == {"lfw", "textures", "mean"}
            assert all(0.0 <= a <= 1.0 for a in m[key].values())
        assert len(m["ssim"]["stages"]) == 4
        assert all(-1.0 <= s <= 1.0 + 1e-9 for s in m["ssim"]["stages"])
        assert len(m["gradients"]["init"]) == m["weighted_layers"]
        assert len(m["gradients"]["violin_layers"]) == 6  # 3 blocks each in stages 1 and 4
        assert (root / m["variant"] / "model.pt").is_file()


def test_rerun_resumes_from_checkpoints(runs):
    root, ms = runs
    again = run_variant("upenn", CFG, root / "again", root / "ck" / "upenn", seed=3)
    assert again["pretrain"]["history"] == ms["upenn"]["pretrain"]["history"]
    assert again["relearning"] == ms["upenn"]["relearning"]


def test_panels_rows_and_evaluate(runs, tmp_path, capsys):
    root, _ = runs
    out = make_fig5([root / "upenn", root / "contrast_net_nobn"], tmp_path / "fig",
                    tmp_path / "t.csv", tmp_path / "s.json", tmp_path / "rows.json")
    assert out["measured"]["U1"] == {"upenn": 54, "contrast_net_nobn": 50}
    pngs = sorted(p.name for p in (tmp_path / "fig").glob("*.png"))
    assert "fig5g_without_training.png" in pngs and "fig5def_feature_maps.png" in pngs
    assert len(pngs) == 8
    rows = json.loads((tmp_path / "rows.json").read_text())["rows"]
    assert [r["id"] for r in rows] == ["U1", "U2", "U3", "U4", "U5"]
    assert len((tmp_path / "t.csv").read_text().splitlines()) == 1 + 2 * 3
    capsys.readouterr()
    assert evaluate_main(["--checkpoint", str(root / "upenn" / "model.pt"),
                          "--dataset", "lfw", "--ncm", "3"]) == 0
    res = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert 0.0 <= res["accuracy"] <= 1.0 and res["mode"] == "ncm(k=3)"
    assert evaluate_main(["--checkpoint", str(tmp_path / "none.pt"), "--dataset", "lfw"]) == 2


def test_bad_variant_and_overlapping_sets_raise(tmp_path):
    with pytest.raises(ValueError, match="variant"):
        parse_variant("resnet")
    bad = UPENNConfig(pretrain_dataset="lfw", datasets=["lfw"])
    with pytest.raises(ValueError, match="pre-learning"):
        run_variant("upenn", bad, tmp_path, tmp_path / "ck")
