"""``--backend`` and the backends' own options, generated from the backend registry.

Each option a registered backend declares becomes one flag (``base_url`` -> ``--base-url``),
shared by the backends that declare it; its value reaches the chosen backend only if that backend
declares it, and otherwise is a usage error naming the backends that take it.
"""

import argparse
import warnings

from spec_o3.agent.backends import backend_declaration, registered_backends

__all__ = ["add_backend_arguments", "backend_options", "text_only_backends"]


def add_backend_arguments(parser, *, short_flags=None):
    """Attach ``--backend`` (default ``expert``) and every declared backend option to ``parser``.

    Call it after the command's own options, which then keep their flags.

    Parameters
    ----------
    parser : `argparse.ArgumentParser`
        The command's parser; a backend option spelled like one of its options is left out, with
        a warning.
    short_flags : dict, optional
        Extra spellings by name, e.g. ``{"backend": "-b", "model": "-m"}``.
    """
    short_flags = short_flags or {}
    backends = registered_backends()
    parser.add_argument(
        *_spellings("--backend", short_flags.get("backend")),
        default="expert",
        type=_backend_name,
        metavar="{" + ",".join(backends) + "}",
        help="; ".join(f"{name}: {backend.description}" for name, backend in backends.items())
        + " (default: expert)",
    )
    group = parser.add_argument_group(
        "backend options", "options of the chosen --backend (each says which backends take it)"
    )
    parser.set_defaults(backend_options={})
    for name, declarations in _options_by_name(backends).items():
        try:
            group.add_argument(
                *_spellings(declarations[0][1].flag, short_flags.get(name)),
                dest=name,
                action=_StoreBackendOption,
                default=argparse.SUPPRESS,  # the value goes to args.backend_options instead
                metavar=name.upper(),
                help="; ".join(f"{backend}: {option.help}" for backend, option in declarations),
            )
        except argparse.ArgumentError as error:  # a third-party option spelled like ours
            warnings.warn(
                f"backend option {name!r} left off the command line: {error}",
                RuntimeWarning,
                stacklevel=2,
            )


def backend_options(args):
    """The options of ``args.backend`` given on the command line, converted to their types.

    Raises
    ------
    ValueError
        For an option the chosen backend does not take, or a value its type rejects.
    """
    backend = backend_declaration(args.backend)
    options = {}
    for name, text in args.backend_options.items():
        option = backend.option(name)
        if option is None or not option.command_line:
            declarations = _options_by_name(registered_backends())[name]
            takers = [taker for taker, _ in declarations]
            raise ValueError(
                f"{declarations[0][1].flag} applies to the {' and '.join(takers)} "
                f"backend{'s' if len(takers) > 1 else ''} only"
            )
        try:
            options[name] = option.type(text)
        except ValueError as error:
            # int("x")'s own message helps nobody; a checking function's says what is allowed
            detail = (
                f"expects {option.type.__name__}, got {text!r}"
                if option.type in (int, float)
                else str(error)
            )
            raise ValueError(f"{option.flag} ({backend.name} backend): {detail}") from None
    return options


def text_only_backends():
    """Names of the backends that measure the spectrum themselves, for help texts."""
    return ", ".join(
        name for name, backend in registered_backends().items() if not backend.needs_images
    )


def _backend_name(text):
    """``text`` if it names a registered backend, else argparse's usage error with the choices."""
    try:
        return backend_declaration(text).name
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _options_by_name(backends):
    """Command-line option name -> [(backend name, `BackendOption`), ...], in declaration order."""
    by_name = {}
    for backend in backends.values():
        for option in backend.options:
            if option.command_line:
                by_name.setdefault(option.name, []).append((backend.name, option))
    return by_name


def _spellings(flag, short_flag):
    return [flag, short_flag] if short_flag else [flag]


class _StoreBackendOption(argparse.Action):
    """Keep the option's text in ``namespace.backend_options``, apart from the command's own."""

    def __call__(self, parser, namespace, values, option_string=None):
        namespace.backend_options = {**namespace.backend_options, self.dest: values}
