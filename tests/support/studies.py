"""Study files for the tests that run studies: the text of a study over a python objective,
the digits trainer under Hyperband, a command objective built from a program's text."""

from __future__ import annotations

from pathlib import Path

#: The one parameter of most run tests.
X_PARAM = 'x = { type = "uniform", low = 0.0, high = 1.0 }'


def study_text(name: str, *, trials: int, objective: str, metric: str = "score",
               direction: str | None = None, study: str = "", params: str = X_PARAM,
               tables: str = "") -> str:
    """The text of study ``name``: ``study`` more lines of ``[study]``, ``objective`` the body
    of ``[objective]``, ``tables`` more tables (``[pruner]``...), ``params`` the ``[params]``."""
    lines = ["[study]", f'name = "{name}"', f'metric = "{metric}"']
    if direction is not None:
        lines.append(f'direction = "{direction}"')
    lines += [f"trials = {trials}", study, "", "[objective]", objective, "", tables,
              "[params]", params, ""]
    return "\n".join(lines)


def python_study(name: str, function: str, *, trials: int, objective: str = "", **more) -> str:
    """:func:`study_text` over the python objective ``function`` (module:function);
    ``objective`` are more lines of ``[objective]``."""
    return study_text(name, trials=trials, **more,
                      objective=f'kind = "python"\nfunction = "{function}"\n{objective}')


def command_study(name: str, program: Path, *, trials: int, **more) -> str:
    """:func:`study_text` over the command objective ``python PROGRAM`` (maximising
    ``score`` unless ``direction`` says otherwise)."""
    more.setdefault("direction", "maximize")
    return study_text(name, trials=trials, **more,
                      objective=f'kind = "command"\nargv = ["python", "{program}"]')


def hyperband_digits(*, max_resource: int | None = None) -> str:
    """Study ``digits``: the builtin trainer on digits for 4 epochs under Hyperband (one
    bracket, reduction factor 4), two grid points: learning rate 0.01 and 1e-7 (hopeless)."""
    max_line = "" if max_resource is None else f"max_resource = {max_resource}\n"
    return ('[study]\nname = "digits"\nmetric = "val_accuracy"\ndirection = "maximize"\n'
            'sampler = "grid"\npruner = "hyperband"\ntrials = 2\nseed = 0\n'
            '[objective]\nkind = "builtin"\n'
            '[trainer]\ndataset = "digits"\nepochs = 4\npatience = 10\ndevice = "cpu"\n'
            f'[pruner]\nmin_resource = 1\n{max_line}reduction_factor = 4\nbrackets = 1\n'
            '[params]\nlearning_rate = { type = "choice", values = [0.01, 1e-7] }\n'
            'n_layers = 1\nhidden_units = 32\noptimizer = "adam"\nbatch_size = 64\n')


def command_objective(folder: Path, program: str, mode: str, extra: str = ""):
    """The command objective running ``python prog.py MODE`` (``program`` written as
    ``folder/prog.py``) over one parameter ``lr``; ``extra`` are more ``[objective]`` lines."""
    from hpsearch.objectives import make_objective
    from hpsearch.space import parse_space

    (folder / "prog.py").write_text(program)
    text = f'''
[study]
metric = "acc"
[objective]
kind = "command"
argv = ["python", "prog.py", "{mode}"]
{extra}
[params]
lr = {{ type = "uniform", low = 0, high = 1 }}
'''
    return make_objective(parse_space(text, source=str(folder / "space.toml")))
