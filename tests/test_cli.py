import subprocess
import sys

from repro.cli import main


def test_unknown_scale_is_refused_with_the_valid_ones(capsys):
    try:
        main(["run", "01", "--scale", "gpu"])
    except SystemExit as exit_:
        assert exit_.code == 2
    assert "valid scales are smoke, cpu, paper" in capsys.readouterr().err


def test_unknown_chapter_lists_the_chapters(capsys):
    assert main(["run", "no-such-chapter"]) == 2
    assert "01_networks_metrics_data" in capsys.readouterr().err


def test_chapters_are_listed():
    out = subprocess.run([sys.executable, "-m", "repro.cli", "chapters"], capture_output=True, text=True, check=True).stdout
    assert "book/01_networks_metrics_data.ipynb" in out


def test_train_pgn_refuses_an_empty_selection(capsys):
    assert main(["train-pgn", "--scale", "smoke", "--backbone", "unet", "--mode", "hybrid", "--steps", "0"]) == 2
    assert "steps must be >= 1" in capsys.readouterr().err
    try:
        main(["train-pgn", "--backbone", "vgg19"])
    except SystemExit as exit_:
        assert exit_.code == 2
    assert "invalid choice: 'vgg19'" in capsys.readouterr().err
