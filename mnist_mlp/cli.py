"""The command line: `python -m mnist_mlp train | evaluate | predict | models | rename | delete | export`,
`join`, which makes one model of several, and `fetch`, which gets the full MNIST.

Bad arguments or files end with one line on stderr and exit code 2, never a traceback. The machine's
owner runs it, so it may change any saved model except the shipped ones (see `rights`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from mnist_mlp import data, fetch, model, quiet, rights, store, unsure

if TYPE_CHECKING:
    from pathlib import Path

    from mnist_mlp import run, train
    from mnist_mlp.evaluate import Evaluation

EXIT_USAGE = 2
VERBOSE_HELP = "show TensorFlow's own log lines (oneDNN, absl, CUDA); hidden otherwise"


class CliError(Exception):
    """A problem to report in one line and exit with code 2."""


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.offline:
        os.environ["MNIST_MLP_OFFLINE"] = "1"
    with contextlib.nullcontext() if args.verbose else quiet.tensorflow_quiet():  # before TF loads
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    """The command's handler; its errors as one line and exit code 2."""
    try:
        return args.handler(args)
    except (CliError, ValueError, OSError, fetch.FetchError) as err:
        print(f"mnist_mlp {args.command}: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mnist_mlp",
        description="Train, evaluate and use multi-layer perceptrons on MNIST and Fashion-MNIST.",
    )
    parser.add_argument("--offline", action="store_true", help="never try to download datasets")
    parser.add_argument("--verbose", action="store_true", help=VERBOSE_HELP)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (
        _add_train, _add_evaluate, _add_predict, _add_models, _add_rename, _add_delete, _add_export,
        _add_join, _add_fetch,
    ):  # fmt: skip
        add(commands)
    for command in commands.choices.values():  # after the command too; absent there, the global one holds
        command.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS, help=VERBOSE_HELP)
    return parser


def _add_train(commands: argparse._SubParsersAction) -> None:
    train = commands.add_parser("train", help="train a model and save it with its card")
    train.set_defaults(handler=run_train)
    _add_data_arguments(train)
    _add_model_options(train.add_argument_group("model (a preset, optionally changed by the options below)"))
    train.add_argument("--validation", type=float, default=0.1, metavar="FRACTION",
                       help="share of the training data held out for validation (%(default)s)")  # fmt: skip
    train.add_argument("--continue", dest="resume", metavar="NAME",
                       help="go on training this saved model (its layers are kept)")  # fmt: skip
    train.add_argument("--out", metavar="NAME", help="save under this name (default: generated)")
    train.add_argument("--no-save", action="store_true", help="train and evaluate only")
    train.add_argument("--overwrite", action="store_true",
                       help="replace a saved model of the --out name (never a shipped one)")  # fmt: skip
    train.add_argument("--mix-drawings", type=_times, default=0, metavar="TIMES",
                       help="add my saved drawings (Draw page) to the training images, each "
                            "TIMES times, e.g. to fine-tune with --continue")  # fmt: skip
    train.add_argument("--notes", default="", help="a note for the model's card")
    _add_json(train)
    _add_drawings_folder(train)
    _add_store(train)


def _add_model_options(group: argparse._ArgumentGroup) -> None:
    """The preset and the fields of `model.MLPConfig` that change it (see CONFIG_OPTIONS)."""
    group.add_argument(
        "--preset", choices=list(model.PRESETS), default=model.DEFAULT_PRESET, help="%(default)s"
    )
    group.add_argument("--hidden", type=_units, help="hidden layer sizes, e.g. 512 or 256,128 or none")
    group.add_argument("--activation", choices=model.ACTIVATIONS)
    group.add_argument("--dropout", type=float, dest="dropout_rate", metavar="RATE")
    group.add_argument("--optimizer", choices=model.OPTIMIZERS)
    group.add_argument("--learning-rate", type=float, metavar="LR")
    group.add_argument("--learning-rate-decay", choices=model.LEARNING_RATE_DECAYS,
                       help="cosine: from LR down to 0 over the epochs of this run")  # fmt: skip
    group.add_argument("--l2", type=float)
    group.add_argument("--batch-size", type=int, metavar="N")
    group.add_argument("--epochs", type=int, metavar="N")
    group.add_argument("--mirror", action=argparse.BooleanOptionalAction, default=None,
                       help="mirror half the images left-right each epoch (clothing)")  # fmt: skip
    group.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None,
                       help="random shifts, rotations, scaling and elastic distortion")  # fmt: skip
    group.add_argument("--pen-strokes", type=int, metavar="N",
                       help="digits as people draw them: add N pen-stroke renders of each training "
                            "digit (0 = off; the shipped digits-mlp uses 3)")  # fmt: skip
    group.add_argument("--outliers", type=int, metavar="N",
                       help="outlier exposure: train on N images of no class (scribbles, shapes, letters, "
                            "the other dataset) towards even probabilities, so Unsure catches them; "
                            "0 = off (digits-mlp uses 12000, fashion-mlp 6000)")  # fmt: skip
    group.add_argument("--seed", type=int)


def _add_evaluate(commands: argparse._SubParsersAction) -> None:
    evaluate = commands.add_parser("evaluate", help="test accuracy, per class, confusion matrix")
    evaluate.set_defaults(handler=run_evaluate)
    evaluate.add_argument("--model", default=store.DEFAULT_MODEL, metavar="NAME_OR_PATH")
    _add_data_arguments(evaluate)
    evaluate.add_argument(
        "--drawings", action="store_true", help="evaluate on my saved drawings of the model's dataset"
    )
    _add_json(evaluate)
    _add_drawings_folder(evaluate)
    _add_store(evaluate)


def _add_predict(commands: argparse._SubParsersAction) -> None:
    predict = commands.add_parser("predict", help="read digits from PNG/JPEG files")
    predict.set_defaults(handler=run_predict)
    predict.add_argument("images", nargs="+", metavar="IMAGE")
    predict.add_argument("--model", default=store.DEFAULT_MODEL, metavar="NAME_OR_PATH")
    _add_json(predict)
    _add_store(predict)


def _add_models(commands: argparse._SubParsersAction) -> None:
    models = commands.add_parser("models", help="list the saved models")
    models.set_defaults(handler=run_models)
    _add_json(models)
    _add_store(models)


def _add_rename(commands: argparse._SubParsersAction) -> None:
    rename = commands.add_parser("rename", help="rename a saved model (not a shipped one)")
    rename.set_defaults(handler=run_rename)
    rename.add_argument("old", metavar="NAME")
    rename.add_argument("new", metavar="NEW_NAME")
    _add_store(rename)


def _add_delete(commands: argparse._SubParsersAction) -> None:
    delete = commands.add_parser("delete", help="delete a saved model for good (not a shipped one)")
    delete.set_defaults(handler=run_delete)
    delete.add_argument("name", metavar="NAME")
    _add_store(delete)


def _add_export(commands: argparse._SubParsersAction) -> None:
    export = commands.add_parser("export", help="a SavedModel and a TensorFlow Lite file to take away")
    export.set_defaults(handler=run_export)
    export.add_argument("model", metavar="MODEL", help="a saved model's name or a .keras file")
    export.add_argument("--out", required=True, metavar="DIR", help="the export folder to write")
    export.add_argument("--format", choices=("savedmodel", "tflite", "both"), default="both",
                        help="what to write (default: %(default)s)")  # fmt: skip
    export.add_argument("--overwrite", action="store_true", help="replace an earlier export in DIR")
    _add_store(export)


def _add_join(commands: argparse._SubParsersAction) -> None:
    join = commands.add_parser(
        "join", help="one model of several trained apart: a wider MLP whose logits are their average"
    )
    join.set_defaults(handler=run_join)
    join.add_argument("models", nargs="+", metavar="MODEL", help="two or more saved models of one dataset")
    join.add_argument("--out", required=True, metavar="NAME", help="save the joined model under this name")
    join.add_argument("--overwrite", action="store_true", help="replace an existing model of that name")
    join.add_argument("--validation", type=float, default=0.1, metavar="FRACTION",
                      help="the share each model held out as it trained (default: %(default)s)")  # fmt: skip
    join.add_argument("--notes", default="", help="a note for the model's card")
    join.add_argument("--data", metavar="PATH", help="a Keras-style .npz or a folder of the four IDX files")
    _add_store(join)


def _add_fetch(commands: argparse._SubParsersAction) -> None:
    fetch_command = commands.add_parser(
        "fetch", help="get the full MNIST (60,000 + 10,000 digits), checked, for every command and page"
    )
    fetch_command.set_defaults(handler=run_fetch)
    fetch_command.add_argument(
        "dataset", choices=("mnist",),
        help="mnist (Fashion-MNIST comes from Debian's dataset-fashion-mnist or the Keras download)",
    )  # fmt: skip
    _add_json(fetch_command)


def _add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def _add_store(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", metavar="DIR", help="model folder (default: saved_models/)")


def _add_drawings_folder(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--drawings-folder", metavar="DIR",
                        help="where my drawings are (default: $MNIST_MLP_DRAWINGS, else "
                             "~/.local/share/mnist-mlp/drawings)")  # fmt: skip


def _add_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dataset", choices=data.DATASETS, default=None, help="default: the model's dataset, else mnist"
    )
    parser.add_argument("--data", metavar="PATH", help="a Keras-style .npz or a folder of the four IDX files")


def _times(text: str) -> int:
    try:
        times = int(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected a whole number of times; got {text!r}") from err
    if not 0 <= times <= 1000:
        raise argparse.ArgumentTypeError(f"expected 0..1000 times; got {text!r}")
    return times


def _units(text: str) -> tuple[int, ...]:
    if text.strip().lower() in ("", "none", "0"):
        return ()
    try:
        units = tuple(int(part) for part in text.split(","))
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected sizes like 512 or 256,128; got {text!r}") from err
    if any(u <= 0 or u > 16384 for u in units):
        raise argparse.ArgumentTypeError(f"layer sizes must be in 1..16384; got {text!r}")
    return units


CONFIG_OPTIONS = {
    "hidden": "hidden_units", "activation": "activation", "dropout_rate": "dropout_rate",
    "optimizer": "optimizer", "learning_rate": "learning_rate",
    "learning_rate_decay": "learning_rate_decay", "l2": "l2",
    "batch_size": "batch_size", "epochs": "epochs", "augment": "augment", "mirror": "mirror",
    "seed": "seed", "pen_strokes": "pen_strokes", "outliers": "outliers",
}  # fmt: skip


def run_train(args: argparse.Namespace) -> int:
    from mnist_mlp import run

    previous = store.load(args.resume, args.store) if args.resume else None
    config = _train_config(args, previous)
    dataset = data.load(_train_dataset_name(args, previous), args.data)
    name = store.check_name(args.out) if args.out else run.suggested_name(dataset.name, config)
    if not args.no_save:
        _check_name_free(name, args)  # fail fast, before the training
    say = _say_nothing if args.json else _say
    say(f"data: {dataset.source}")
    plan = _plan(args, dataset, config, name, say)
    result, speed = _train_with_progress(plan, config, previous, show=not args.json)
    if result.stopped:
        say(f"stopped at epoch {result.epochs_done:g}; keeping the model as trained so far")
    test = run.evaluate_test(plan, result.model)
    say(
        f"test accuracy: {test.accuracy:.2%} on {len(dataset.y_test):,} images "
        f"(loss {test.loss:.4f}) after {result.seconds:.1f} s of training, "
        f"{speed:,.0f} images/s{' with augmentation' if config.augment else ''}"
    )
    saved = None if args.no_save else _save(args, plan, result, test)
    if saved is not None:
        say(f"saved: {name} ({saved})")
    if args.json:
        print(json.dumps(_train_summary(plan, config, result, test, saved)))
    return 0


def _train_config(args: argparse.Namespace, previous: store.LoadedModel | None) -> model.MLPConfig:
    """The continued model's config, else the preset's, with the options given on the command line."""
    base = previous.card.config if previous and previous.card else model.preset(args.preset)
    changes = {field: getattr(args, option) for option, field in CONFIG_OPTIONS.items()}
    return base.replace(**{k: v for k, v in changes.items() if v is not None})


def _train_dataset_name(args: argparse.Namespace, previous: store.LoadedModel | None) -> str:
    """--dataset, else the continued model's dataset, else mnist."""
    return args.dataset or (previous.card.dataset if previous and previous.card else "mnist")


def _check_name_free(name: str, args: argparse.Namespace) -> None:
    """CliError (or rights' refusal) unless `name` may be saved to: new, or replaceable with --overwrite."""
    rights.check_new_name(name)
    if store.find(name, args.store) is not None:
        if not args.overwrite:
            raise CliError(f"a model named {name!r} already exists; choose another --out or --overwrite")
        rights.check(rights.CLI, "replace", name, args.store)


def _plan(
    args: argparse.Namespace,
    dataset: data.Dataset,
    config: model.MLPConfig,
    name: str,
    say: Callable[[str], None],
) -> run.Plan:
    """The split with the extras `config` asks for and my drawings as --mix-drawings asks; says what
    will train on what."""
    from mnist_mlp import run

    prepared = run.split(dataset, config.seed, args.validation)
    if config.pen_strokes or config.outliers:
        counter = _Counter(enabled=not args.json)
        prepared = run.with_extras(prepared, config, dataset.name, counter.update)
        counter.close()
    mine = None
    if args.mix_drawings:
        from mnist_mlp import my_drawings

        mine = my_drawings.as_dataset(dataset.name, args.drawings_folder)
        say(f"mixed in: {mine.source}, each {args.mix_drawings} times")
    plan = run.plan(dataset, config, prepared, mine, args.mix_drawings, name=name)
    counts = plan.samples
    say(
        f"model: {config.architecture} ({config.parameter_count:,} parameters), {config.epochs} "
        f"epochs, {counts['train']:,} training and {counts['validation']:,} validation images"
    )
    return plan


def _train_with_progress(
    plan: run.Plan, config: model.MLPConfig, previous: store.LoadedModel | None, *, show: bool
) -> tuple[train.TrainResult, float]:
    """`train.train` on the plan, with a progress bar when `show`, and Ctrl-C stopping it gently;
    the result and this run's images per second (each epoch's distortions included)."""
    from mnist_mlp import train

    prior = _as_train_result(previous, config) if previous else None
    bar = _ProgressBar(enabled=show)
    with _stop_on_interrupt() as stop:
        result = train.train(config, plan.training, previous=prior, on_progress=bar.update, stop=stop)
    bar.close()
    return result, bar.speed


def _save(args: argparse.Namespace, plan: run.Plan, result: train.TrainResult, test: Evaluation) -> Path:
    """Card, Unsure detector and save, with the command that made the model; its folder."""
    from mnist_mlp import run

    command = "python -m mnist_mlp " + shlex.join(sys.argv[1:]) if sys.argv[1:] else ""
    path, _ = run.save(plan, result, plan.name, rights.CLI, test=test, notes=args.notes, command=command,
                       overwrite=args.overwrite, store_folder=args.store)  # fmt: skip
    return path


def _train_summary(
    plan: run.Plan, config: model.MLPConfig, result: train.TrainResult, test: Evaluation, saved: Path | None
) -> dict[str, Any]:
    """What `train --json` prints."""
    return {
        "dataset": plan.dataset.name,
        "data_source": plan.dataset.source,
        "config": config.to_dict(),
        "test": test.to_dict(),
        "history": result.history,
        "seconds": round(result.seconds, 2),
        "saved": None if saved is None else str(saved),
    }


def run_evaluate(args: argparse.Namespace) -> int:
    from mnist_mlp import evaluate as evaluation

    if args.drawings and args.data:
        raise CliError("use --drawings or --data, not both")
    user_data = data.load(args.dataset or "mnist", args.data) if args.data else None  # fail fast
    loaded = store.load(args.model, args.store)
    dataset_name = args.dataset or (loaded.card.dataset if loaded.card else "mnist")
    if dataset_name not in data.DATASETS:
        dataset_name = "mnist"
    if args.drawings:
        from mnist_mlp import my_drawings

        user_data = my_drawings.as_dataset(dataset_name, args.drawings_folder)
    dataset = user_data or data.load(dataset_name)
    result = evaluation.evaluate(loaded.model, dataset.x_test, dataset.y_test)
    figures = result.to_dict()
    if args.json:
        print(
            json.dumps(
                {"model": str(args.model), "dataset": dataset.name, "data_source": dataset.source, **figures}
            )
        )
        return 0
    print(f"model: {args.model}\ndata: {dataset.source}")
    print(f"test accuracy: {result.accuracy:.2%} on {len(result.labels):,} images (loss {result.loss:.4f})\n")
    names = dataset.class_names
    width = max(len(n) for n in names)
    print(f"{'class':<{width}}  accuracy  precision")
    for index, label in enumerate(names):
        accuracy, precision = figures["per_class_accuracy"][index], figures["precision"][index]
        print(f"{label:<{width}}  {_percent(accuracy):>8}  {_percent(precision):>9}")
    print("\nconfusion matrix (rows: true class, columns: predicted)")
    for index, row in enumerate(figures["confusion_matrix"]):
        print(f"{names[index]:<{width}} " + " ".join(f"{count:5d}" for count in row))
    return 0


def run_predict(args: argparse.Namespace) -> int:
    import numpy as np

    from mnist_mlp import images, preprocess

    inputs = [preprocess.to_mnist(images.read_image(path)) for path in args.images]  # fail fast
    loaded = store.load(args.model, args.store)
    names = loaded.card.class_names if loaded.card else [str(d) for d in range(10)]
    detector = loaded.detector
    if detector is None:  # an upload or an older save: fit one on its dataset, as the app does
        dataset_name = (
            loaded.card.dataset if loaded.card and loaded.card.dataset in data.DATASETS else "mnist"
        )
        from mnist_mlp import run

        detector = run.fallback_detector(loaded.model, data.load(dataset_name))
    results = []
    for path, prepared in zip(args.images, inputs, strict=True):
        if prepared is None:
            results.append({"image": path, "error": "no drawing found (blank image)"})
            continue
        probabilities = model.predict(loaded.model, prepared[None])[0]
        verdict = unsure.judge(detector, loaded.model, prepared[None])[0]
        best = int(np.argmax(probabilities))
        results.append(
            {
                "image": path,
                "class": best,
                "label": names[best],
                "confidence": round(float(probabilities[best]), 6),
                "unsure": verdict.unsure,
                "reason": verdict.reason,
                "probabilities": [round(float(p), 6) for p in probabilities],
            }
        )
    if args.json:
        print(json.dumps({"model": str(args.model), "predictions": results}))
    else:
        for item in results:
            if "error" in item:
                print(f"{item['image']}: {item['error']}")
            elif item["unsure"]:
                print(
                    f"{item['image']}: unsure, perhaps {item['label']} ({item['confidence']:.1%}): "
                    f"{item['reason']}"
                )
            else:
                print(f"{item['image']}: {item['label']} ({item['confidence']:.1%})")
    return 0 if all("error" not in item for item in results) else 1


def run_models(args: argparse.Namespace) -> int:
    entries = store.list_models(args.store)
    if args.json:
        rows = [
            {
                "name": e.name,
                "path": str(e.path),
                "error": e.error,
                "card": e.card.to_dict() if e.card else None,
            }
            for e in entries
        ]
        print(json.dumps({"store": str(store.store_dir(args.store)), "models": rows}))
        return 0
    if not entries:
        print(f"no saved models in {store.store_dir(args.store)}")
        return 0
    print(f"{'name':<28} {'dataset':<14} {'architecture':<18} {'test acc':>8} {'epochs':>6}  created")
    for entry in entries:
        card = entry.card
        if card is None:
            print(f"{entry.name:<28} {entry.error}")
            continue
        print(
            f"{entry.name:<28} {card.dataset:<14} {card.config.architecture:<18} "
            f"{_percent(card.test_accuracy):>8} {card.epochs:>6g}  {card.created[:16]}"
        )
    return 0


def run_rename(args: argparse.Namespace) -> int:
    path = rights.rename(rights.CLI, args.old, args.new, args.store)
    print(f"renamed {args.old} to {args.new} ({path})")
    return 0


def run_delete(args: argparse.Namespace) -> int:
    rights.delete(rights.CLI, args.name, args.store)
    print(f"deleted {args.name}")
    return 0


def run_export(args: argparse.Namespace) -> int:
    from mnist_mlp import export

    folder = export.check_folder(args.out, args.overwrite)  # fail fast, before TensorFlow starts
    loaded = store.load(args.model, args.store)
    done = export.export(loaded, folder, formats=args.format, overwrite=args.overwrite)
    print(f"exported {args.model} to {done.folder}")
    if done.saved_model:
        print(f"  SavedModel: {done.saved_model} (signature {export.SIGNATURE!r})")
    if done.tflite:
        print(f"  TensorFlow Lite: {done.tflite} ({done.tflite.stat().st_size / 1024:,.0f} KB)")
    print(
        "  input 'images': uint8 (batch, 28, 28), 0..255, ink white on black; outputs 'classes' "
        f"and 'probabilities'; see {export.README_FILE} and {export.INFO_FILE}"
    )
    return 0


def run_join(args: argparse.Namespace) -> int:
    """Join saved models; card, Unsure limits (`run.joined_split`) and save go through `run` as for a
    trained model."""
    from mnist_mlp import ensemble, run, train

    if len(set(args.models)) < len(args.models):
        raise CliError("a model is named twice; join different models")
    name = store.check_name(args.out)
    _check_name_free(name, args)
    members = [store.load(member, args.store) for member in args.models]
    cards = _member_cards(members, args.models)
    config = ensemble.joined_config([card.config for card in cards])
    joined = ensemble.join([member.model for member in members], [card.config for card in cards])
    dataset = data.load(cards[0].dataset, args.data)
    _say(f"data: {dataset.source}")
    counter = _Counter(enabled=True)
    prepared = run.joined_split(dataset, [card.config for card in cards], args.validation, counter.update)
    counter.close()
    plan = run.plan(dataset, config, prepared, name=name)
    result = train.TrainResult(
        joined, config, history=list(cards[0].history),
        snapshots=ensemble.joined_snapshots([member.snapshots for member in members]),
        seconds=sum(card.training_seconds for card in cards),
    )  # fmt: skip
    validation = _validation_line(dict(zip(args.models, members, strict=True)), joined, plan.split)
    _say(validation)
    test = run.evaluate_test(plan, joined)
    _say(f"test accuracy: {test.accuracy:.2%} on {len(dataset.y_test):,} images (loss {test.loss:.4f})")
    command = "python -m mnist_mlp " + shlex.join(sys.argv[1:]) if sys.argv[1:] else ""
    notes = f"{_joined_notes(args.models, cards)} {validation} {args.notes}".strip()
    path, _ = run.save(plan, result, name, rights.CLI, test=test, notes=notes, command=command,
                       overwrite=args.overwrite, store_folder=args.store)  # fmt: skip
    print(f"joined {len(members)} models into {name} ({config.architecture}): {path}")
    return 0


def _member_cards(members: list[store.LoadedModel], names: list[str]) -> list[store.Card]:
    """Each model's card; CliError when one has none or they read different datasets."""
    missing = [name for name, member in zip(names, members, strict=True) if member.card is None]
    if missing:
        raise CliError(f"{missing[0]} has no card, so how it was trained is unknown; join saved models")
    cards = [member.card for member in members if member.card is not None]
    if len({card.dataset for card in cards}) > 1:
        raise CliError(f"the models read different datasets: {', '.join(card.dataset for card in cards)}")
    return cards


def _validation_line(members: dict[str, store.LoadedModel], joined, split) -> str:
    """The joined model and each member on the validation images no member trained on: the figures
    to choose between them by, the test set left alone."""
    from mnist_mlp import evaluate

    def score(network) -> str:
        return f"{evaluate.evaluate(network, split.x_val, split.y_val).accuracy:.2%}"

    each = ", ".join(f"{name} {score(member.model)}" for name, member in members.items())
    images = f"{len(split.y_val):,} validation images"
    return f"On the {images} no network trained on: joined {score(joined)}, {each}."


def _joined_notes(names: list[str], cards: list[store.Card]) -> str:
    parts = [
        f"{name} ({card.config.architecture}, seed {card.config.seed}, {card.epochs:g} epochs, "
        f"test {_percent(card.test_accuracy)})"
        for name, card in zip(names, cards, strict=True)
    ]
    return (
        f"{len(cards)} networks trained apart and joined into one MLP whose logits are their average "
        f"(mnist_mlp.ensemble): {'; '.join(parts)}. The curves are the first network's; the Unsure "
        "limits were set on the validation images no network trained on."
    )


def run_fetch(args: argparse.Namespace) -> int:
    shown: list[str] = []

    def show(share: float, message: str) -> None:
        if not args.json and message not in shown:
            shown.append(message)
            _say(f"[{share:4.0%}] {message}")

    done = fetch.fetch_mnist(on_progress=show)
    full = data.load("mnist", done.folder)
    source = f"from {done.source}" if done.fresh else done.source
    if args.json:
        print(json.dumps({
            "folder": str(done.folder), "source": done.source, "fresh": done.fresh,
            "train": len(full.y_train), "test": len(full.y_test),
        }))  # fmt: skip
        return 0
    print(
        f"MNIST: {len(full.y_train):,} training and {len(full.y_test):,} test digits in {done.folder} "
        f"({source}), each file's SHA-256 checked; every command and page uses them from now on."
    )
    return 0


@contextlib.contextmanager
def _stop_on_interrupt():
    """The first Ctrl-C stops training gently (the model is kept); a second one aborts."""
    stop = threading.Event()

    def handle(signum, frame):
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        print("\nstopping after this batch (Ctrl-C again to abort)", file=sys.stderr)

    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = signal.signal(signal.SIGINT, handle)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)


def _as_train_result(previous: store.LoadedModel, config: model.MLPConfig):
    from mnist_mlp import train

    card = previous.card
    return train.TrainResult(
        model=previous.model,
        config=config,
        history=list(card.history) if card else [],
        snapshots=dict(previous.snapshots),
        seconds=card.training_seconds if card else 0.0,
    )


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.2%}"


def _say(message: str) -> None:
    print(message, file=sys.stderr)


def _say_nothing(message: str) -> None:
    pass


class _Counter:
    """What is being made before training starts, as "what: done/total" on one terminal line."""

    def __init__(self, enabled: bool) -> None:
        self.enabled, self.live, self.what = enabled, enabled and sys.stderr.isatty(), ""

    def update(self, what: str, done: int, total: int) -> None:
        if self.live and self.what and what != self.what:
            print(file=sys.stderr)  # keep the finished line
        self.what = what
        if self.live:
            print(f"\r{what}: {done:,}/{total:,}", end="", file=sys.stderr, flush=True)
        elif self.enabled and done == total:
            print(f"{what}: {done:,}/{total:,}", file=sys.stderr)

    def close(self) -> None:
        if self.live and self.what:
            print(file=sys.stderr)


class _ProgressBar:
    """A one-line bar on a terminal; one line per epoch when output goes to a file or pipe."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.live = enabled and sys.stderr.isatty()
        self.last_draw = 0.0
        self.speed = 0.0  # images per second of this run so far

    def update(self, progress) -> None:
        self.speed = progress.images_per_second
        if not self.enabled:
            return
        if progress.kind == "epoch":
            self._clear()
            print(
                f"epoch {progress.epoch}/{progress.epochs}: loss {progress.loss:.4f}, "
                f"accuracy {progress.accuracy:.2%}, val_loss {progress.val_loss:.4f}, "
                f"val_accuracy {progress.val_accuracy:.2%}, "
                f"{progress.images_per_second:,.0f} images/s",
                file=sys.stderr,
            )
        elif self.live and time.monotonic() - self.last_draw > 0.1:
            self.last_draw = time.monotonic()
            filled = int(30 * progress.batch / max(progress.batches, 1))
            print(
                f"\repoch {progress.epoch}/{progress.epochs} [{'#' * filled:<30}] "
                f"{progress.batch}/{progress.batches}  loss {progress.loss:.4f}  "
                f"{progress.images_per_second:,.0f} img/s  ETA {progress.eta_seconds:,.0f} s ",
                end="",
                file=sys.stderr,
                flush=True,
            )

    def _clear(self) -> None:
        if self.live:
            print("\r\033[K", end="", file=sys.stderr)

    def close(self) -> None:
        self._clear()
