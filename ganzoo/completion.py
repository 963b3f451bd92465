"""Shell completion: `ganzoo completion bash|zsh|fish` prints a script that completes sub-commands,
their flags, and the names people mistype: variants, datasets, metrics, pretrained models and
``--set`` keys.

The names are written into the script when it is generated (from the installed plugins), so a TAB
never starts Python and torch; generate it again after installing a plugin. Flags come from the
CLI's own argparse parser, so they cannot drift from what `ganzoo` accepts.
"""

from __future__ import annotations

import argparse
import shlex
from typing import Any

SHELLS = ("bash", "zsh", "fish")
FILE_FLAGS = ("--out", "-o", "--output", "--resume", "--config", "--features")  # complete paths
CHOICES = {"--device": ("auto", "cpu", "cuda", "mps"), "--amp": ("auto", "off", "bf16", "fp16"), "--direction": ("a2b", "b2a")}


def names(registry: Any) -> dict[str, list[str]]:
    """What the script offers, from the registry: variants, datasets, metrics, pretrained models,
    and every key --set accepts (each variant's config and the trainer's)."""
    from .config import TrainConfig, field_types

    keys = set(field_types(TrainConfig))
    for cls in registry.variants.values():
        keys |= set(field_types(cls.Config))
    return {
        "variants": sorted(registry.variants),
        "datasets": sorted(registry.datasets),
        "metrics": sorted(registry.metrics),
        "pretrained": sorted(registry.pretrained),
        "keys": sorted(keys),
    }


def _commands(parser: argparse.ArgumentParser) -> dict[str, list[str]]:
    """Sub-command -> its flags, from the parser itself."""
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    out = {}
    for name, p in sub.choices.items():
        out[name] = sorted({s for a in p._actions for s in a.option_strings if s.startswith("--")})
    return out


def _words(values: list[str]) -> str:
    return shlex.quote(" ".join(values))


def bash(parser: argparse.ArgumentParser, found: dict[str, list[str]]) -> str:
    commands = _commands(parser)
    flag_cases = "\n".join(f"        {cmd}) flags={_words(flags)} ;;" for cmd, flags in commands.items())
    choice_cases = "\n".join(f"        {flag}) COMPREPLY=( $(compgen -W {_words(list(values))} -- \"$cur\") ); return ;;"
                             for flag, values in CHOICES.items())
    return f"""# ganzoo completion for bash: eval "$(ganzoo completion bash)" (or save it in ~/.local/share/bash-completion/completions/ganzoo)
_ganzoo() {{
    local cur prev cmd flags i
    cur="${{COMP_WORDS[COMP_CWORD]}}"
    prev="${{COMP_WORDS[COMP_CWORD-1]}}"
    cmd=""
    for ((i = 1; i < COMP_CWORD; i++)); do
        case "${{COMP_WORDS[i]}}" in -*) ;; *) cmd="${{COMP_WORDS[i]}}"; break ;; esac
    done
    local variants={_words(found["variants"])}
    local datasets={_words(found["datasets"])}
    local metrics={_words(found["metrics"])}
    local pretrained={_words(found["pretrained"])}
    local keys={_words([k + "=" for k in found["keys"]])}
    if [[ -z "$cmd" ]]; then
        COMPREPLY=( $(compgen -W {_words(list(commands) + ["--help", "--version", "-q", "-v"])} -- "$cur") )
        return
    fi
    case "$prev" in
        --set) compopt -o nospace 2>/dev/null; COMPREPLY=( $(compgen -W "$keys" -- "$cur") ); return ;;
        --data) COMPREPLY=( $(compgen -W "$datasets" -- "$cur") $(compgen -d -- "$cur") ); return ;;
        --metrics) COMPREPLY=( $(compgen -W "$metrics" -- "$cur") ); return ;;
{choice_cases}
        {"|".join(FILE_FLAGS)}) COMPREPLY=( $(compgen -f -- "$cur") ); return ;;
    esac
    case "$cmd" in
{flag_cases}
        *) flags="" ;;
    esac
    if [[ "$cur" == -* ]]; then
        COMPREPLY=( $(compgen -W "$flags --help" -- "$cur") )
        return
    fi
    case "$cmd" in
        run) COMPREPLY=( $(compgen -W "$variants" -- "$cur") ) ;;
        sample|eval|translate|upscale|push) COMPREPLY=( $(compgen -W "$pretrained" -- "$cur") $(compgen -f -- "$cur") ) ;;
        completion) COMPREPLY=( $(compgen -W {_words(list(SHELLS))} -- "$cur") ) ;;
    esac
}}
complete -F _ganzoo ganzoo
"""


def zsh(parser: argparse.ArgumentParser, found: dict[str, list[str]]) -> str:
    # zsh runs bash completion functions through bashcompinit: one script to keep right, not two.
    return ("# ganzoo completion for zsh: eval \"$(ganzoo completion zsh)\" in ~/.zshrc\n"
            "autoload -U +X compinit && compinit\nautoload -U +X bashcompinit && bashcompinit\n" + bash(parser, found))


def fish(parser: argparse.ArgumentParser, found: dict[str, list[str]]) -> str:
    commands = _commands(parser)
    lines = ["# ganzoo completion for fish: ganzoo completion fish > ~/.config/fish/completions/ganzoo.fish",
             "complete -c ganzoo -f",
             f"complete -c ganzoo -n __fish_use_subcommand -a {_words(list(commands))}"]
    for cmd, flags in commands.items():
        for flag in flags:
            lines.append(f"complete -c ganzoo -n '__fish_seen_subcommand_from {cmd}' -l {flag[2:]}")
    lines += [
        f"complete -c ganzoo -n '__fish_seen_subcommand_from run; and not __fish_prev_arg_in --set --data --config --out --resume' -a {_words(found['variants'])}",
        f"complete -c ganzoo -n '__fish_seen_subcommand_from sample eval translate upscale push' -a {_words(found['pretrained'])}",
        f"complete -c ganzoo -n '__fish_prev_arg_in --set' -a {_words([k + '=' for k in found['keys']])}",
        f"complete -c ganzoo -n '__fish_prev_arg_in --data' -a {_words(found['datasets'])}",
        f"complete -c ganzoo -n '__fish_prev_arg_in --metrics' -a {_words(found['metrics'])}",
        f"complete -c ganzoo -n '__fish_seen_subcommand_from completion' -a {_words(list(SHELLS))}",
    ]
    return "\n".join(lines) + "\n"


def script(shell: str, parser: argparse.ArgumentParser, registry: Any) -> str:
    return {"bash": bash, "zsh": zsh, "fish": fish}[shell](parser, names(registry))
