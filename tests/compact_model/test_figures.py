"""Figures: the device panels are written as PNG files."""

import json

import compact_model
from compact_model import figures


def test_gain_panel_written(tmp_path):
    path = figures.fig2f_gains(compact_model.load("paper"), tmp_path / "f.png")
    assert path.stat().st_size > 5000  # a real image, not an empty file
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_fit_report_with_traces(tmp_path):
    from compact_model import fit, protocols

    m = compact_model.load("paper")
    paths = []
    for name, segs in (("pulses_10", protocols.train(10)),
                       ("ppf_100ms", [(5.0, 0, 0.03), (0.0, 0, 0.1), (5.0, 0, 0.03)])):
        tr, _ = protocols.simulate(m, segs)
        paths.append(tmp_path / f"{name}.h5")
        protocols.write_device_h5(paths[-1], tr, m.params.area, protocol=name)
    # a physics-fit document (the preset standing for the fitted model): compact-vs-physics
    # metric panel, one panel per protocol, compact-vs-paper panel
    traces = fit.read_traces(paths, m.params.area)
    cmp = fit.compare_traces(m.params, traces)
    doc = fit.nlem_json(m, [t.name for t in traces], {"rms_ln_residual": {}}, physics=cmp)
    doc["physics_agreement"] = fit.agreement(cmp)
    assert doc["physics_agreement"]["relative_difference"]
    (tmp_path / "nlem.json").write_text(json.dumps(doc), encoding="utf-8")
    out = figures.fit_report(tmp_path / "nlem.json", tmp_path / "r.png", paths)
    assert out.stat().st_size > 10000  # four panels drawn

