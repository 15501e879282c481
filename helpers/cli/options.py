"""The options the sub-commands share, their argument types, the environment variables (the command line)."""

from __future__ import annotations

import argparse
import textwrap

from ..backends.available import BACKENDS
from ..lab.temperature import DEFAULT_TEMPERATURE
from ..model.fetch import MIRROR_ENV, MODEL_DIR_ENV, known_variants
from ..model.net import DEFAULT_SIZE, check_size
from ..paths import CACHE_ENV, OUTPUT_DIR_ENV, SCHEDULER_ENV
from ..restoration.retime import FACTORS, check_rate

ENVIRONMENT = (
    (f"{MODEL_DIR_ENV}=DIR", "use the model files in DIR as they are (no download, no hash check), e.g. your "
     "own Caffe model with the same layer names, or a stand-in from `make standin`"),
    (f"{MIRROR_ENV}=DIR|URL", "try this folder or URL base first when fetching (a classroom copy)"),
    (f"{OUTPUT_DIR_ENV}=DIR", "put colorized_images/, colorized_frames/ and colorized_videos/ (the default "
     "output folders) in DIR instead of the repository"),
    (f"{CACHE_ENV}=DIR", "where --backend auto remembers which back end it chose (default: your user cache "
     "folder, e.g. ~/.cache/colorize-tutorial); delete it to check again"),
    (f"{SCHEDULER_ENV}=ADDR", "photo and video run on this Dask cluster (tcp://host:8786), as with "
     "--scheduler, unless --workers is given"),
)
"""The environment variables the command line reads: (NAME=VALUE, what it does)."""


def environment_help(width: int = 79) -> str:
    """ENVIRONMENT as an epilog: names in one column, their descriptions aligned in the next."""
    column = max(len(name) for name, _ in ENVIRONMENT) + 4
    lines = ["environment variables:"]
    for name, text in ENVIRONMENT:
        first, *more = textwrap.wrap(text, width - column)
        lines.append(f"  {name:<{column - 2}}{first}")
        lines += [" " * column + line for line in more]
    return "\n".join(lines) + "\n"


ENVIRONMENT_HELP = environment_help()
"""The end of every ``--help``: the environment variables and what each does."""


def whole_number(minimum: int):
    """An argparse type: an integer >= ``minimum``, checked before anything is loaded."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


def frame_rate(text: str) -> float:
    """An argparse type: frames per second for ``--fps`` (``retime.check_rate``)."""
    try:
        fps = float(text)
        check_rate(fps, None)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc) if "rate" in str(exc) else f"expected a number, got {text!r}") \
            from None
    return fps


def factor(text: str) -> int:
    """An argparse type: ``2x`` (or ``2``) for ``--interpolate``."""
    try:
        times = int(text.lower().removesuffix("x"))
        check_rate(None, times)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {', '.join(f'{f}x' for f in FACTORS)}, got {text!r}") from None
    return times


def network_size(text: str) -> int:
    """An argparse type: ``--size``, a whole number the network takes (``model.net.check_size``)."""
    value = whole_number(32)(text)
    try:
        check_size(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


BACKEND_HELP = ("what runs the network. auto (default): the fastest runtime whose colours match OpenCV's on "
                "this machine, int8 or bf16 only if within mean |Δab| 2 on the sample photos; checked on the "
                "first run (10-20 s), then remembered. opencv: OpenCV's DNN module, as notebook 02 teaches. "
                "openvino, onnxruntime: that runtime (onnxruntime: `pip install -e .[fast]`)")


def variant_option() -> argparse.ArgumentParser:
    """``--variant``, with the choices and their notes from model/registry.json (fetch, photo, video)."""
    variants = known_variants()
    option = argparse.ArgumentParser(add_help=False)
    default = next(iter(variants))
    notes = "; ".join(f"{name}: {note}" for name, note in variants.items())
    option.add_argument_group("the model").add_argument(
        "--variant", choices=list(variants), default=default, help=f"which model weights: {notes} (default: {default})")
    return option


def network_options(variant: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options that choose and tune the network, shared by photo and video."""
    options = argparse.ArgumentParser(add_help=False, parents=[variant])
    group = options.add_argument_group("the network")
    group.add_argument("--temperature", type=float, default=DEFAULT_TEMPERATURE, metavar="T",
                       help="annealed-mean temperature: lower is more vivid and patchy, 1 is the "
                       f"plain mean, greyish (default: {DEFAULT_TEMPERATURE:.4f} = 1/2.606, the paper's 0.38)")
    group.add_argument("--size", type=network_size, default=DEFAULT_SIZE, metavar="N",
                       help="network input size in pixels, a multiple of 8 from 32 to 1024; time grows with N^2 "
                       f"(default: {DEFAULT_SIZE}, the training size)")
    group.add_argument("--backend", choices=("auto", *BACKENDS), default="auto", help=BACKEND_HELP)
    return options


def cluster_options() -> argparse.ArgumentParser:
    """``--workers`` and ``--scheduler``: spread the work over Dask workers (photo and video)."""
    options = argparse.ArgumentParser(add_help=False)
    group = options.add_argument_group("more than one process or machine (Dask)").add_mutually_exclusive_group()
    group.add_argument("--workers", type=whole_number(1), metavar="N",
                       help="start N worker processes on this machine (a Dask LocalCluster on 127.0.0.1 only; its "
                       "dashboard link is printed); each gets cores / N threads. Same frames as one process")
    group.add_argument("--scheduler", metavar="ADDRESS",
                       help=f"use a running Dask cluster instead (tcp://host:8786; default: ${SCHEDULER_ENV}). "
                       "The workers must see the input files at the same path (a shared folder); they get the "
                       "model from this machine if they cannot see it. See the README, \"More than one machine\"")
    return options


def add_command(commands, name: str, *, help: str, description: str, examples: str = "",
                parents: tuple[argparse.ArgumentParser, ...] = ()) -> argparse.ArgumentParser:
    """A sub-command whose --help ends with its examples and the environment variables."""
    epilog = (f"{examples}\n\n" if examples else "") + ENVIRONMENT_HELP
    return commands.add_parser(name, help=help, description=textwrap.fill(description, 79), epilog=epilog,
                               parents=list(parents),
                               formatter_class=argparse.RawDescriptionHelpFormatter)
