"""A user's own training function, searched by hpsearch's python objective.

hpsearch imports this module (from the space file's folder) and calls
``train(params, report)`` once per trial: ``params`` holds the sampled values,
``report(step, metrics)`` records a point of the learning curve (shown by
``hpsearch show STUDY N``), and the returned dict holds the final metrics; the
study's ``metric`` ("val_accuracy" here) must be one of them.
"""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler


def train(params: dict, report) -> dict:
    X, y = load_digits(return_X_y=True)
    X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
    scaler = StandardScaler().fit(X_train)
    X_train, X_val = scaler.transform(X_train), scaler.transform(X_val)
    model = SGDClassifier(
        loss=params["loss"],
        alpha=params["alpha"],
        learning_rate="constant" if params["schedule"] == "constant" else "optimal",
        eta0=params.get("eta0", 0.01),  # only the constant schedule uses it
        random_state=0,
    )
    classes = np.unique(y)
    rng = np.random.default_rng(0)
    best = 0.0
    for epoch in range(1, params["epochs"] + 1):
        order = rng.permutation(len(X_train))
        model.partial_fit(X_train[order], y_train[order], classes=classes)
        accuracy = float(model.score(X_val, y_val))
        best = max(best, accuracy)
        report(epoch, {"val_accuracy": accuracy})
    return {"val_accuracy": best, "train_accuracy": float(model.score(X_train, y_train))}
