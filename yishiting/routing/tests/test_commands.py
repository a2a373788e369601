"""The routing commands: routing-eval, routing-train, hotspots."""

from __future__ import annotations

import csv
import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from yishiting.routing.tests.test_hotspots import MIXER, OTHERS, PARKING

KEYS = {
    "macro_f1",
    "accuracy",
    "threshold",
    "auto_share",
    "auto_precision",
    "p99_ms_per_message",
    "p99_cpu_ms_per_message",
    "train_seconds",
}


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, ["id", "msg_id", "title", "detail", "time", "label"])
        w.writeheader()
        w.writerows(rows)
    return path


def test_routing_eval_prints_one_json_object(
    tmp_path: Path, train_sample: list[dict[str, str]]
) -> None:
    train = _write(tmp_path / "train.csv", train_sample[:700])
    test = _write(tmp_path / "test.csv", train_sample[700:900])
    out = StringIO()
    call_command("routing_eval", "--train", str(train), "--test", str(test), stdout=out)
    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert set(result) >= KEYS
    assert set(result["baseline"]) >= KEYS
    assert result["n_train"] == 700 and result["n_test"] == 200
    assert 0.7 < result["macro_f1"] <= 1
    assert result["p99_ms_per_message"] < 50
    assert 0 < result["p99_cpu_ms_per_message"] <= result["p99_ms_per_message"] * 1.05
    if result["auto_share"]:
        assert result["auto_precision"] > 0.85


def test_routing_eval_refuses_a_csv_without_labels(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("id,title,detail\n1,a,b\n", encoding="utf-8")
    with pytest.raises(CommandError, match="label"):
        call_command("routing_eval", "--train", str(bad), "--test", str(bad))


def test_hotspots_command(tmp_path: Path) -> None:
    path = tmp_path / "messages.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["msg_id", "user", "title", "time", "detail", "dislikes", "likes"])
        for i, text in enumerate(MIXER + PARKING + OTHERS):
            w.writerow([i, f"u{i}", text[:12], "2019/11/01 10:00:00", text, 0, 1])
    out = StringIO()
    call_command("hotspots", "--input", str(path), "--top", "2", "--json", stdout=out)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["messages"] for r in rows] == [4, 3]
    assert sorted(rows[0]["ids"]) == ["0", "1", "2", "3"]
    assert rows[0]["cosigns"] == 4
    out = StringIO()
    call_command("hotspots", "--input", str(path), "--top", "1", "--show", "1", stdout=out)
    assert out.getvalue().startswith(" 1. ") and "4 messages" in out.getvalue()
    with pytest.raises(CommandError):
        call_command("hotspots", "--input", str(path), "--top", "0")


@pytest.mark.django_db
def test_routing_train_reports_each_county(county) -> None:  # type: ignore[no-untyped-def]
    out = StringIO()
    call_command("routing_train", stdout=out)
    assert "too little history" in out.getvalue()
    with pytest.raises(CommandError, match="no county"):
        call_command("routing_train", "--county", "nope")
