"""The category classifier, its compact scorer and the threshold rule (issue 6)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.svm import LinearSVC

from yishiting.routing.classifier import (
    BaselineClassifier,
    RoutingClassifier,
    _Linear,
    cross_validate,
    threshold_for_precision,
    train,
)

SMALL = [
    ("路灯不亮", "村口的路灯坏了好几天，晚上太黑", "streetlight"),
    ("路灯坏了", "小区门口路灯一直不亮", "streetlight"),
    ("晚上没有路灯", "新修的路没装路灯，晚上看不见", "streetlight"),
    ("路灯闪烁", "东街路灯一闪一闪的，请修理", "streetlight"),
    ("污水外溢", "下水道堵了，污水流到路上", "sewage"),
    ("下水道堵塞", "化粪池满了，污水外溢，臭气熏天", "sewage"),
    ("污水横流", "污水井冒水，路上全是污水", "sewage"),
    ("排水不畅", "下水管道堵塞，污水倒灌进院子", "sewage"),
]


def small() -> tuple[list[str], list[str], list[str]]:
    return [r[0] for r in SMALL], [r[1] for r in SMALL], [r[2] for r in SMALL]


def test_threshold_is_the_lowest_that_keeps_precision() -> None:
    conf = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4]
    right = [True, True, True, False, True, False]
    # >= 0.7: 3/3; >= 0.6: 3/4; >= 0.5: 4/5 = 0.8.
    assert threshold_for_precision(conf, right, 0.97) == 0.7
    assert threshold_for_precision(conf, right, 0.8) == 0.5
    assert threshold_for_precision(conf, [False] * 6, 0.97) == math.inf
    assert threshold_for_precision([], [], 0.97) == math.inf


def test_ties_go_in_or_out_together() -> None:
    # Cutting between the two 0.5s would reach 100%, but a threshold cannot split a tie.
    assert threshold_for_precision([0.9, 0.5, 0.5], [True, True, False], 0.97) == 0.9


@pytest.mark.parametrize("factory", [RoutingClassifier, BaselineClassifier])
def test_compact_scorer_matches_sklearn(factory: type) -> None:
    titles, texts, labels = small()
    model = factory().fit(titles, texts, labels, keep_sklearn=True)
    vectorizers, linear = model.sklearn
    docs = model._documents(["路灯 不亮了"], ["门口路灯坏了，污水也冒出来"])
    x = sp.hstack([v.transform(d) for v, d in zip(vectorizers, docs, strict=True)])
    expected = linear.decision_function(x)
    got = model.scores(["路灯 不亮了"], ["门口路灯坏了，污水也冒出来"])
    assert np.allclose(got, expected, atol=1e-5)
    assert np.allclose(got[:, 0], -got[:, 1], atol=1e-5)  # two classes: one boundary


def test_two_class_weights_match_sklearn() -> None:
    """sklearn keeps one boundary for two classes; `_Linear` gives each class its row."""
    x = sp.csr_matrix(np.array([[1.0, 0.0], [0.9, 0.2], [0.0, 1.0], [0.1, 0.8]]))
    svm = LinearSVC(random_state=0).fit(x, ["a", "a", "b", "b"])
    linear = _Linear.of(svm)
    assert linear.classes == ["a", "b"]
    assert np.allclose(linear.decision_function(x)[:, 1], svm.decision_function(x))
    assert np.allclose(linear.decision_function(x)[:, 0], -svm.decision_function(x))


def test_learns_and_is_surer_of_the_clear_case() -> None:
    titles, texts, labels = small()
    model = RoutingClassifier().fit(titles, texts, labels)
    clear = model.predict_one("", "污水外溢，下水道堵塞")
    vague = model.predict_one("", "请尽快处理")
    assert clear.label == "sewage"
    assert model.predict_one("", "路灯不亮，晚上很黑").label == "streetlight"
    assert clear.confidence > vague.confidence


def test_full_width_and_digits_do_not_matter() -> None:
    titles, texts, labels = small()
    model = RoutingClassifier().fit(titles, texts, labels)
    a = model.predict_one("", "３号楼门口路灯不亮")
    b = model.predict_one("", "7号楼门口路灯不亮")
    assert a == b


def test_one_label_is_refused() -> None:
    with pytest.raises(ValueError, match="two different labels"):
        RoutingClassifier().fit(["a", "b"], ["x", "y"], ["k", "k"])


def test_no_threshold_means_never_automatic() -> None:
    titles, texts, labels = small()
    model = RoutingClassifier().fit(titles, texts, labels)
    p = model.predict_one("", "污水外溢")
    assert not model.auto(p)
    model.threshold = p.confidence
    assert model.auto(p)


def _split(rows: list[dict[str, str]]) -> tuple[list[str], list[str], list[str]]:
    return [r["title"] for r in rows], [r["detail"] for r in rows], [r["label"] for r in rows]


def test_ours_beats_the_baseline_on_real_messages(train_sample: list[dict[str, str]]) -> None:
    """On 1,200 real messages (3-fold), ours is at least as good in macro-F1 and ranks its
    confidence better: more messages clear the 97% bar."""
    from sklearn.metrics import f1_score

    titles, texts, labels = _split(train_sample)
    figures = {}
    for name, factory in (("ours", RoutingClassifier), ("baseline", BaselineClassifier)):
        oof = cross_validate(factory, titles, texts, labels, folds=3, n_jobs=2)
        right = [p.label == y for p, y in zip(oof, labels, strict=True)]
        t = threshold_for_precision([p.confidence for p in oof], right)
        figures[name] = (
            f1_score(labels, [p.label for p in oof], average="macro"),
            np.mean([p.confidence >= t for p in oof]),
        )
    assert figures["ours"][0] > 0.8
    assert figures["ours"][0] >= figures["baseline"][0] - 0.005
    assert figures["ours"][1] > figures["baseline"][1]


def test_train_sets_a_threshold_that_holds_on_unseen_messages(
    train_sample: list[dict[str, str]],
) -> None:
    titles, texts, labels = _split(train_sample[:900])
    trained = train(RoutingClassifier, titles, texts, labels, folds=3)
    model = trained.model
    assert model.threshold is not None and math.isfinite(model.threshold)
    held = train_sample[900:]
    predictions = model.predict([r["title"] for r in held], [r["detail"] for r in held])
    auto = [(p, r) for p, r in zip(predictions, held, strict=True) if model.auto(p)]
    assert len(auto) > 0.3 * len(held)
    precision = np.mean([p.label == r["label"] for p, r in auto])
    assert precision > 0.93  # 97% is the target; 300 messages leave room for chance


def test_words_and_their_pairs_from_the_text_start() -> None:
    from yishiting.routing.text import words

    grams = words("小区路灯不亮，请 修理")
    assert "小区" in grams and "修理" in grams
    assert "请 修理" in grams  # neighbours pair up, across the dropped space
    assert all(g.strip() == g and g for g in grams)  # no blank tokens
    assert words("路灯" * 10 + "污水", limit=20) == words("路灯" * 10)  # only the start counts


def test_a_model_stored_before_word_views_still_scores() -> None:
    """Models pickled before views had a kind have character views only: they load as such."""
    import pickle

    titles, texts, labels = small()
    model = BaselineClassifier().fit(titles, texts, labels)
    expected = model.scores(["路灯坏了"], [""])
    del model.views[0].__dict__["kind"]  # what unpickling an older model gives
    old = pickle.loads(pickle.dumps(model))
    assert old.views[0].kind == "char"
    assert np.array_equal(old.scores(["路灯坏了"], [""]), expected)
