"""Issue 11.7 and 11.15: a data file that cannot be read is bad input, refused before any
trial with one short line (never a failed trial per trial, never a traceback)."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from hpsearch.errors import DataError
from hpsearch.trainer import TrainerSettings
from hpsearch.trainer.data import load_dataset


def corrupt_zip() -> bytes:
    """A zip header with garbage inside (the audit's corrupt .npz)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("X.npy", b"garbage" * 10)
        zf.writestr("y.npy", b"garbage" * 10)
    return buf.getvalue()


def bad_crc_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("X.npy", b"\x93NUMPY" + b"\x00" * 100)
        zf.writestr("y.npy", b"\x93NUMPY" + b"\x00" * 100)
    data = bytearray(buf.getvalue())
    data[40:60] = b"\xff" * 20
    return bytes(data)


CASES = {
    # file name: (content, the message's gist)
    "empty.npz": (b"", "the file is empty"),
    "text.npz": (b"not a zip at all\n" * 5, r"not an NPZ archive \(numpy.savez writes one"),
    "corrupt.npz": (corrupt_zip(), r"corrupt NPZ archive \(X is not a numpy array\)"),
    "crc.npz": (bad_crc_zip(), r"corrupt NPZ archive"),
    "empty.csv": (b"", "the file is empty"),
    "latin1.csv": ("a,b,label\n" + "".join(f"{i},{i % 7},caf\xe9{i % 2}\n" for i in range(40)),
                   r"column 'label', line 2: not UTF-8 text \(byte 0xe9\); save the file as UTF-8"),
    "latin1-feature.csv": ("a,b,label\n" + "".join(f"{i},{i}\xe9,x{i % 2}\n" for i in range(40)),
                           r"column 'b', line 2: not UTF-8 text"),
    "binary.csv": (bytes(range(256)) * 20, "cannot read: "),
    "bad.parquet": (b"PAR1garbagePAR1", "cannot read: "),
    "empty.parquet": (b"", "the file is empty"),
}


def write(path: Path, content) -> None:
    if isinstance(content, str):
        path.write_bytes(content.encode("latin-1"))
    else:
        path.write_bytes(content)


@pytest.mark.parametrize("name", sorted(CASES))
def test_unreadable_file_is_one_short_data_error(tmp_path, name):
    content, gist = CASES[name]
    write(tmp_path / name, content)
    with pytest.raises(DataError) as info:
        load_dataset(TrainerSettings(dataset=str(tmp_path / name)))
    message = str(info.value)
    assert message.startswith(f"{tmp_path / name}: ")
    assert "\n" not in message and len(message) < 300 + len(str(tmp_path))
    assert "pickle" not in message and "reshape" not in message
    assert re.search(gist, message), message


def test_npz_messages_name_the_problem(tmp_path):
    np.savez(tmp_path / "obj.npz", X=np.array([[1, "a"]], dtype=object), y=np.array([1]))
    np.savez(tmp_path / "norows.npz", X=np.zeros((0, 3)), y=np.zeros(0))
    with pytest.raises(DataError, match=r"obj.npz: X holds Python objects, not numbers"):
        load_dataset(TrainerSettings(dataset=str(tmp_path / "obj.npz")))
    with pytest.raises(DataError, match=r"norows.npz: X has no rows \(shape \(0, 3\)\)"):
        load_dataset(TrainerSettings(dataset=str(tmp_path / "norows.npz")))


def test_latin1_csv_is_refused_the_same_way_in_any_locale(tmp_path):
    content, _ = CASES["latin1.csv"]
    write(tmp_path / "data.csv", content)
    code = ("from hpsearch.trainer import TrainerSettings\n"
            "from hpsearch.trainer.data import load_dataset\n"
            "from hpsearch.errors import DataError\n"
            f"try: load_dataset(TrainerSettings(dataset={str(tmp_path / 'data.csv')!r}))\n"
            "except DataError as e: print(e)\n")
    outputs = set()
    for lang in ("C", "C.UTF-8", "POSIX"):
        env = {"PATH": "/usr/bin:/bin", "LANG": lang, "LC_ALL": lang}
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                             text=True, encoding="utf-8", timeout=120)
        assert out.returncode == 0, out.stderr[-2000:]
        outputs.add(out.stdout.strip())
    assert len(outputs) == 1 and "not UTF-8 text" in outputs.pop()


def test_many_single_sample_classes_are_listed_briefly(tmp_path):
    rows = "".join(f"{i},{i * 2},c{i}\n" for i in range(3000))
    (tmp_path / "many.csv").write_text("a,b,label\n" + rows)
    with pytest.raises(DataError) as info:
        load_dataset(TrainerSettings(dataset=str(tmp_path / "many.csv")))
    message = str(info.value)
    assert len(message) < 400, len(message)
    assert ("3,000 of 3,000 classes have a single sample, too few to split stratified: "
            "'c0', 'c1', 'c10'") in message and message.endswith("and 2,990 more")


def test_a_corrupt_npz_stops_the_run_before_any_trial(tmp_path):
    """The CLI: exit 2, one line naming the file, and no trial ever ran (nor a study)."""
    (tmp_path / "data.npz").write_bytes(corrupt_zip())
    (tmp_path / "space.toml").write_text('''
[study]
name = "bad-data"
metric = "val_accuracy"
trials = 2
[trainer]
dataset = "data.npz"
epochs = 1
[params]
learning_rate = { type = "log_uniform", low = 1e-4, high = 1e-1 }
''')
    db = tmp_path / "h.db"
    out = subprocess.run([sys.executable, "-m", "hpsearch.cli", "--db", f"sqlite:///{db}",
                          "run", str(tmp_path / "space.toml")],
                         capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert out.returncode == 2, (out.stdout, out.stderr)
    lines = [line for line in (out.stdout + out.stderr).splitlines() if line.strip()]
    assert len(lines) == 1 and "data.npz: corrupt NPZ archive" in lines[0], lines
    if db.exists():
        import sqlite3
        with sqlite3.connect(db) as con:
            tables = {r[0] for r in con.execute("select name from sqlite_master")}
            assert "trials" not in tables or con.execute("select count(*) from trials").fetchone()[0] == 0
