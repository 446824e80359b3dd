"""A training program searched by hpsearch's command objective.

hpsearch runs it as ``python train.py --lr=0.01 --hidden=64`` (the space file's
``argv``, formatted with each trial's params; they also arrive as JSON in the
HPSEARCH_PARAMS environment variable). It prints one JSON line per epoch; the
last line holding the study's metric is the trial's result, earlier ones are
the learning curve. Anything else on stdout is ignored; a non-zero exit marks
the trial failed with the tail of stderr.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lr", type=float, required=True)
    parser.add_argument("--hidden", type=int, required=True)
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()

    X, y = load_digits(return_X_y=True)
    X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
    scaler = StandardScaler().fit(X_train)
    X_train, X_val = scaler.transform(X_train), scaler.transform(X_val)
    model = MLPClassifier(hidden_layer_sizes=(args.hidden,), learning_rate_init=args.lr, random_state=0)
    classes = np.unique(y)
    for epoch in range(1, args.epochs + 1):
        model.partial_fit(X_train, y_train, classes=classes)
        print(json.dumps({"step": epoch, "val_accuracy": float(model.score(X_val, y_val))}), flush=True)


if __name__ == "__main__":
    main()
