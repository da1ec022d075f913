"""What the classifier tasks share: accuracy, the confusion matrix, their final metrics."""

from __future__ import annotations

from typing import Any

import numpy as np


__all__ = [
    "confusion_matrix",
    "accuracy",
    "one_hot_batch",
    "classifier_final",
    "classifier_summary",
]


def confusion_matrix(y_true: Any, y_pred: Any, n_classes: int) -> np.ndarray:
    """Counts ``C[i, j]`` of samples of class ``i`` predicted as ``j``."""
    m = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(m, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return m


def accuracy(y_true: Any, y_pred: Any) -> float:
    """The share of predictions equal to the labels."""
    return float((np.asarray(y_pred) == np.asarray(y_true)).mean())


def one_hot_batch(arrays: tuple[Any, ...], n_classes: int) -> tuple[Any, Any]:
    """``(x, y)`` with integer labels ``y`` of shape ``(B,)`` as ``(x, Y)`` with one-hot
    float32 targets ``Y`` of shape ``(B, n_classes)`` (a task's ``to_step_batch``)."""
    x, y = arrays
    return x, np.eye(n_classes, dtype=np.float32)[np.asarray(y)]


def classifier_final(
    y_train: Any, pred_train: Any, y_test: Any, pred_test: Any, n_classes: int, **extra: Any
) -> dict[str, Any]:
    """``train_acc``, ``test_acc``, the test ``confusion_matrix`` and `extra`."""
    return {
        "train_acc": accuracy(y_train, pred_train),
        "test_acc": accuracy(y_test, pred_test),
        "confusion_matrix": confusion_matrix(y_test, pred_test, n_classes).tolist(),
        **extra,
    }


def classifier_summary(final: dict[str, Any]) -> str:
    return f"final test accuracy {final['test_acc']:.4f}, train {final['train_acc']:.4f}"


def plot_classifier(
    viz: Any,
    out: Any,
    history: dict[str, list[float]],
    final: dict[str, Any],
    name: str,
    loss: str | None = None,
) -> None:
    """The classifier tasks' two plots in `out`: ``learning_curve.png`` (the per-epoch
    `loss` or energy, if given, with the train and test accuracies on a second axis) and
    ``confusion_matrix.png`` (the final test set); `name` titles them."""
    curves = {} if loss is None else {loss: history[loss]}
    curves.update({"train acc": history["train_acc"], "test acc": history["test_acc"]})
    viz.plot_learning_curve(
        curves, out / "learning_curve.png", title=name, secondary=("train acc", "test acc")
    )
    viz.plot_confusion_matrix(
        np.asarray(final["confusion_matrix"]), out / "confusion_matrix.png",
        title=f"{name}: test set",
    )  # fmt: skip
