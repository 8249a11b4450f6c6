"""The config file (~/.config/kubewatch-ml/config.toml, see settings.config_path()):

    theme = "dark"                 # dark | light | any Textual theme name
    readonly_contexts = ["prod-*"] # contexts opened read-only (fnmatch patterns)

    [keys]                         # binding id -> keys (comma-separated), as shown by `?`
    "view.gpus" = "g"
    "table.filter" = "slash,f"

A bad file is one clear line (UserError), never a traceback.
"""
from __future__ import annotations

import fnmatch
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .errors import UserError

THEMES = {"dark": "textual-dark", "light": "textual-light"}


@dataclass(frozen=True)
class Config:
    theme: str = "dark"
    keys: dict[str, str] = field(default_factory=dict)
    readonly_contexts: tuple[str, ...] = ()
    path: str = ""  # where it was read from, "" for defaults

    @property
    def textual_theme(self) -> str:
        return THEMES.get(self.theme, self.theme)

    def readonly_for(self, context: str) -> bool:
        return any(fnmatch.fnmatchcase(context, pat) for pat in self.readonly_contexts)


def load_config(path: str | Path | None = None) -> Config:
    """Read the config file; a missing file gives the defaults."""
    if path is None:
        from .settings import config_path

        path = config_path()
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Config()
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"cannot read the config file {path}: {e}") from None
    except tomllib.TOMLDecodeError as e:
        raise UserError(f"config file {path} is not valid TOML: {e}") from None
    return config_from_dict(data, str(path))


def config_from_dict(data: dict, path: str = "") -> Config:
    where = path or "config"
    unknown = set(data) - {"theme", "keys", "readonly_contexts"}
    if unknown:
        raise UserError(f"{where}: unknown setting(s) {', '.join(sorted(unknown))} (known: theme, keys, readonly_contexts)")
    theme = data.get("theme", "dark")
    if not isinstance(theme, str) or not theme:
        raise UserError(f"{where}: theme must be a string such as \"dark\" or \"light\"")
    keys = data.get("keys", {})
    if not isinstance(keys, dict) or not all(isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in keys.items()):
        raise UserError(f"{where}: [keys] maps binding ids to key strings, e.g. \"view.gpus\" = \"g\"")
    ro = data.get("readonly_contexts", [])
    if isinstance(ro, str):
        ro = [ro]
    if not isinstance(ro, list) or not all(isinstance(x, str) for x in ro):
        raise UserError(f"{where}: readonly_contexts must be a list of context names or patterns")
    return Config(theme=theme, keys=dict(keys), readonly_contexts=tuple(ro), path=path)
