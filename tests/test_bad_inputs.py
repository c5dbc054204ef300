"""The corpus of bad inputs (tests/fixtures/bad_inputs): each ends in its named error.

``expected.yaml`` there lists every file with the error class it must raise and a fragment of
the message; a file without an entry (or an entry without a file) fails the walk.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lemsim.configtools import load_yaml

CORPUS = Path(__file__).resolve().parent / "fixtures" / "bad_inputs"
EXPECTED = load_yaml(CORPUS / "expected.yaml")
FILES = sorted(str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*")
               if p.is_file() and p.name != "expected.yaml")


def test_every_fixture_has_an_expectation() -> None:
    assert sorted(EXPECTED) == FILES


def _load(kind: str, path: Path) -> None:
    if kind == "nlem":
        from compact_model.model import load_json

        load_json(path)
    elif kind == "config":
        from pipeline.config import load_config, read_yaml

        load_config(overrides=read_yaml(path))
    elif kind == "stack":
        from device_physics.stack import load_stack

        load_stack(path)
    elif kind == "protocol":
        from device_physics.protocols import load_protocol

        load_protocol(path)
    elif kind == "checkpoint":
        from networks.checkpoint import load_checkpoint

        load_checkpoint(path)
    else:  # pragma: no cover
        raise AssertionError(kind)


def _error_class(name: str) -> type[Exception]:
    from compact_model.model import CompactModelFileError
    from lemsim.configtools import ConfigError, YamlFileError
    from networks.checkpoint import CheckpointError

    return {"CompactModelFileError": CompactModelFileError, "ConfigError": ConfigError,
            "YamlFileError": YamlFileError, "CheckpointError": CheckpointError}[name]


@pytest.mark.parametrize("rel", [f for f in FILES if not f.startswith("images/")])
def test_bad_file_gives_its_named_error(rel: str) -> None:
    exp = EXPECTED[rel]
    with pytest.raises(_error_class(exp["error"])) as err:
        _load(rel.split("/")[0], CORPUS / rel)
    assert exp["match"] in str(err.value)


@pytest.mark.parametrize("rel", [f for f in FILES if f.startswith("images/")])
def test_upscale_stops_before_writing_on_a_bad_image(rel: str, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture) -> None:
    from networks.sr.upscale import main

    src = tmp_path / "in"
    src.mkdir()
    good = Path(__file__).resolve().parents[1] / "networks/data/files/sr/Set5/bird.png"
    shutil.copy(good, src / "a_good.png")  # sorted first: would be written first
    shutil.copy(CORPUS / rel, src / Path(rel).name)
    out = tmp_path / "out"
    rc = main(["--checkpoint", "bicubic", "--scale", "2", str(src), str(out)])
    assert rc == 2
    assert EXPECTED[rel]["match"] in capsys.readouterr().err
    assert not out.exists() or not any(out.iterdir())


def test_cli_output_paths_are_checked_before_the_work(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture) -> None:
    import os

    from device_physics.cli import main as device_main
    from lemsim.io import OutputPathError, check_output_dir, check_output_file
    from networks.sr.upscale import main as upscale_main

    root = Path(__file__).resolve().parents[1]
    args = ["run", "--stack", str(root / "config/stacks/sclc_single_layer.yaml"),
            "--protocol", str(root / "config/protocols/pulses_5_smoke.yaml")]
    assert device_main([*args, "-o", str(tmp_path)]) == 1  # an existing folder
    assert "is an existing folder" in capsys.readouterr().err
    (tmp_path / "file").write_text("x")
    assert device_main([*args, "-o", str(tmp_path / "file" / "out.h5")]) == 1
    assert "is a file, not a folder" in capsys.readouterr().err
    if os.geteuid() != 0:  # root writes anywhere
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o500)
        with pytest.raises(OutputPathError, match="not writable"):
            check_output_file(ro / "out.h5")
    with pytest.raises(OutputPathError, match="existing file"):
        check_output_dir(tmp_path / "file")
    src = tmp_path / "in"
    src.mkdir()
    bird = root / "networks/data/files/sr/Set5/bird.png"
    shutil.copy(bird, src / "bird.png")
    assert upscale_main(["--checkpoint", "bicubic", "--scale", "2", str(src),
                         str(tmp_path / "file")]) == 2
    assert "existing file, not a folder" in capsys.readouterr().err
    from PIL import Image

    Image.open(bird).save(src / "bird.bmp")  # same stem: both would write bird.png
    out = tmp_path / "out"
    assert upscale_main(["--checkpoint", "bicubic", "--scale", "2", str(src), str(out)]) == 2
    assert "bird.bmp and bird.png would write the same" in capsys.readouterr().err
    assert not out.exists()
