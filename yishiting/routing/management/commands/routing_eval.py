"""`yishiting routing-eval --train TRAIN.csv --test TEST.csv`: our figures and the baseline's."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from yishiting.routing.evaluation import compare, read_csv


class Command(BaseCommand):
    help = (
        "Train on one labelled CSV, score on another; print one JSON object with our figures "
        "and the baseline's (character 1-3-gram TF-IDF + linear SVM) from the same run."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--train", required=True, metavar="TRAIN.csv")
        parser.add_argument("--test", required=True, metavar="TEST.csv")
        parser.add_argument(
            "--jobs", type=int, default=2, help="Processes for the cross-validation (default 2)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            train_rows = read_csv(options["train"])
            test_rows = read_csv(options["test"])
        except (OSError, ValueError, KeyError) as e:
            raise CommandError(str(e)) from e
        if not train_rows or not test_rows:
            raise CommandError("both CSVs need at least one labelled row")
        result = compare(train_rows, test_rows, n_jobs=options["jobs"])
        self.stdout.write(json.dumps(result, ensure_ascii=False))
