"""Small spaces for the space and sampler tests, built from the text of a ``[params]`` table."""

from __future__ import annotations

from pathlib import Path

from hpsearch.space import Space, parse_space

ROOT = Path(__file__).resolve().parents[2]
DIGITS = ROOT / "search_spaces" / "digits_mlp.toml"


def space_of(params: str, study: str = "", extra: str = "", *, source: str = "space.toml") -> Space:
    """A space named ``t`` with ``study`` lines in ``[study]``, ``extra`` tables, then ``params``."""
    return parse_space(f"[study]\nname = 't'\n{study}\n{extra}\n[params]\n{params}\n", source=source)


# Conditions of every kind: membership, equality, a chain, several keys, a fixed switch that is off.
COND = ('opt = { type = "choice", values = ["sgd", "adam", "rmsprop"] }\n'
        'momentum = { type = "uniform", low = 0.8, high = 0.99, when = { opt = ["sgd", "rmsprop"] } }\n'
        'nesterov = { type = "choice", values = [true, false], when = { opt = "sgd" } }\n'
        'n_layers = { type = "int", low = 1, high = 3 }\n'
        'extra = { type = "uniform", low = 0, high = 1, when = { nesterov = true, n_layers = [2, 3] } }\n'
        'bn = false\n'
        'bn_momentum = { type = "log_one_minus", low = 0.9, high = 0.999, when = { bn = true } }\n')


# The samplers' small conditional space: one choice switches one parameter; one fixed value.
SAMPLER_COND = ('opt = { type = "choice", values = ["sgd", "adam"] }\n'
                'momentum = { type = "uniform", low = 0.8, high = 0.99, when = { opt = "sgd" } }\n'
                'lr = { type = "log_uniform", low = 1e-4, high = 1e-1 }\n'
                'fixed = 7\n')

# Three parameters on three different scales; the first points of each seeded sampler are
# pinned in the sampler tests (printed once and pasted: a change of sequence is a change of behaviour).
THREE = ('lr = { type = "log_uniform", low = 1e-4, high = 1e-1 }\n'
         'n = { type = "int", low = 1, high = 8 }\n'
         'opt = { type = "choice", values = ["sgd", "adam", "rmsprop"] }\n')

# Four network parameters and two [[forbid]] rules over them (a `when` and an `expr`), for the
# forbidden-point tests of the samplers and the study settings of the space.
FORBID_PARAMS = ('optimizer = { type = "choice", values = ["sgd", "adam"] }\n'
                 'batch_size = { type = "choice", values = [64, 256, 512] }\n'
                 'n_layers = { type = "int", low = 1, high = 4 }\n'
                 'hidden = { type = "int", low = 50, high = 1000 }\n')
FORBID = ('[[forbid]]\nwhen = { optimizer = "sgd", batch_size = [256, 512] }\n'
          '[[forbid]]\nexpr = "n_layers * hidden > 2000"\n')
