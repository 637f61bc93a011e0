"""The installed bot is the product only: no fake Telegram, no dev tools, no API description."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[2]


def test_the_wheel_holds_the_bot_and_no_dev_tools(tmp_path: Path) -> None:
    """`pip wheel .` on a copy of the checkout, dev tools and fake Telegram included in the copy."""
    source = tmp_path / "source"
    kept = "bot handlers storage devtools fake_telegram pyproject.toml README.md".split()
    for name in kept:
        copy = shutil.copytree if (CHECKOUT / name).is_dir() else shutil.copy2
        copy(CHECKOUT / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir",
         str(tmp_path), str(source)],
        check=True, capture_output=True,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("ldn_bot-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names if not name.startswith("ldn_bot-")}
    assert tops == {"bot", "handlers", "storage"}
    assert "bot/__main__.py" in names and "storage/alembic.ini" in names
    assert any(name.startswith("storage/migrations/versions/") for name in names)
    assert not [name for name in names if "api.json" in name or "demo" in name]
