"""Where each setting came from, so that a wrong or misspelt one is named the way it was written.

:class:`~klaviyo_kit.KlaviyoSettings` reads keyword arguments, then ``KLAVIYO_*`` environment
variables, then a ``.env`` file. Pydantic alone drops a misspelt name without a word and reports a
bad value by its field path with a documentation link. This module closes both gaps:

* :func:`observe` lists every variable name the settings read (derived from the models' fields)
  and reports each ``KLAVIYO_*`` variable that matches none, with the closest real name. Unknown
  variables are reported, not refused: a deployment's environment is shared with other tools.
  ``KLAVIYO_KIT_*`` variables belong to the kit itself (its test servers) and are not settings.
* :func:`validate` (the settings models' wrap validator) drops what those variables carried, then
  turns a :class:`pydantic.ValidationError` into a
  :class:`~klaviyo_kit.errors.ConfigurationError` whose parts name the keyword argument
  (``KlaviyoSettings(timeout=...)``) or the variable (``KLAVIYO_TIMEOUT``) actually used, never
  echo the value, and carry no pydantic footer. An unknown keyword argument is refused there, with
  the closest field name: a typo in code is a bug, not a shared environment.

A :class:`SettingsScope` carries one construction's keyword arguments and observed sources from
``KlaviyoSettings.__init__`` to the validator (pydantic offers no channel between the two).
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, TypeVar, Union, get_args, get_origin

from pydantic import AliasChoices, BaseModel, ValidationError
from pydantic_settings import BaseSettings, DotEnvSettingsSource, EnvSettingsSource, SettingsError

from klaviyo_kit.errors import ConfigurationError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from contextvars import Token
    from types import TracebackType

    from pydantic.fields import FieldInfo
    from pydantic_core import ErrorDetails
    from pydantic_settings import PydanticBaseSettingsSource
    from typing_extensions import Self

__all__ = ["SettingsScope", "observe", "validate"]

_M = TypeVar("_M", bound=BaseModel)

# Variables with the prefix that are the kit's own and not settings (test server URLs).
_NOT_SETTINGS: Final = ("KLAVIYO_KIT_",)
_SCOPE: ContextVar[SettingsScope | None] = ContextVar("klaviyo_kit_settings_scope", default=None)
_VALIDATING: ContextVar[bool] = ContextVar("klaviyo_kit_validating_settings", default=False)


def _submodel(info: FieldInfo) -> type[BaseModel] | None:
    """Return the settings model a field holds (``X`` or ``X | None``), if it holds one."""
    annotation = info.annotation
    if get_origin(annotation) is Union:
        members = [arg for arg in get_args(annotation) if arg is not type(None)]
        annotation = members[0] if len(members) == 1 else None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _is_mapping(info: FieldInfo) -> bool:
    """Return whether a field is a free-form mapping (its keys are data, not setting names)."""
    annotation = info.annotation
    return annotation is dict or get_origin(annotation) is dict


def _aliases(info: FieldInfo) -> list[str]:
    """Return the names a field is read under instead of its own (its aliases), if any."""
    alias = info.validation_alias
    if isinstance(alias, str):
        return [alias]
    if isinstance(alias, AliasChoices):
        return [choice for choice in alias.choices if isinstance(choice, str)]
    return [info.alias] if info.alias else []


def _accepted(model: type[BaseModel]) -> dict[str, str]:
    """Map every key a model accepts (field names and aliases) to its field name."""
    keys = {name: name for name in model.model_fields}
    for name, info in model.model_fields.items():
        keys.update(dict.fromkeys(_aliases(info), name))
    return keys


def _closest(word: str, candidates: list[str]) -> str | None:
    """Return the candidate most like ``word``, if any is close."""
    found = difflib.get_close_matches(word, candidates, n=1)
    return found[0] if found else None


@dataclass(frozen=True)
class _Variable:
    """One environment variable name the settings read, and what it sets."""

    path: tuple[str, ...]
    model: type[BaseModel] | None
    is_json: bool


@dataclass
class _Observed:
    """The variables one source (the environment or a ``.env`` file) offered."""

    label: str
    env_vars: Mapping[str, str | None]
    case_sensitive: bool
    prefix: str
    delimiter: str
    known: dict[str, _Variable] = field(default_factory=dict)
    open_prefixes: list[str] = field(default_factory=list)

    def norm(self, name: str) -> str:
        """Return ``name`` as the source's keys spell it."""
        return name if self.case_sensitive else name.lower()

    def show(self, name: str) -> str:
        """Return ``name`` as a user would write it."""
        return name if self.case_sensitive else name.upper()

    def learn(self, model: type[BaseModel], bases: list[str] | None, path: tuple[str, ...]) -> None:
        """Record every variable name that sets a field of ``model`` (recursively)."""
        for name, info in model.model_fields.items():
            if bases is None:
                names = _aliases(info) or [f"{self.prefix}{name}"]
            else:
                names = [f"{base}{self.delimiter}{name}" for base in bases]
            names = [self.norm(n) for n in names]
            sub, mapping = _submodel(info), _is_mapping(info)
            for variable in names:
                self.known[variable] = _Variable((*path, name), sub, sub is not None or mapping)
            if self.delimiter and sub is not None:
                self.learn(sub, names, (*path, name))
            if self.delimiter and mapping:
                self.open_prefixes.extend(f"{n}{self.delimiter}" for n in names)

    def name_for(self, path: tuple[str, ...]) -> str | None:
        """Return the variable (as set) that carried the value at ``path``, if one did."""
        by_path: dict[tuple[str, ...], list[str]] = {}
        for name, variable in self.known.items():
            by_path.setdefault(variable.path, []).append(name)
        for end in range(len(path), 0, -1):
            for start in range(end, 0, -1):
                bases = by_path.get(path[:start])
                if bases is None:
                    continue
                tail = [self.norm(key) for key in path[start:end]]
                for base in bases:
                    name = self.delimiter.join([base, *tail]) if tail else base
                    if name in self.env_vars:
                        rest = f" ({'.'.join(path[end:])})" if path[end:] else ""
                        return f"{self.show(name)}{rest}{self.label}"
                break
        return None

    def problems(self) -> Iterator[str]:
        """Yield one line per variable with the prefix that sets nothing, naming the closest."""
        prefix = self.norm(self.prefix)
        for name, value in self.env_vars.items():
            if not name.startswith(prefix) or name.upper().startswith(_NOT_SETTINGS):
                continue
            variable = self.known.get(name)
            if variable is not None:
                yield from self._json_problems(name, variable, value)
            elif not any(name.startswith(open_) for open_ in self.open_prefixes):
                suffixes = [
                    known[len(prefix) :] for known in self.known if known.startswith(prefix)
                ]
                match = _closest(name[len(prefix) :], suffixes)
                hint = f"; did you mean {self.show(prefix + match)}?" if match else ""
                yield (
                    f"{self.show(name)}{self.label} is not a klaviyo-kit setting and was "
                    f"ignored{hint}"
                )

    def _json_problems(self, name: str, variable: _Variable, value: str | None) -> Iterator[str]:
        """Refuse a JSON variable that does not parse; report the unknown keys of one that does."""
        if not variable.is_json or not value:
            return
        try:
            decoded = json.loads(value)
        except ValueError as exc:
            msg = f"{self.show(name)}{self.label}: not valid JSON ({exc})"
            raise ConfigurationError(msg) from None
        if variable.model is not None and isinstance(decoded, dict):
            for key, match in _unknown_keys(variable.model, decoded, ()):
                hint = f"; did you mean {match!r}?" if match else ""
                yield (
                    f"{self.show(name)}{self.label}: {key!r} is not a klaviyo-kit setting and was "
                    f"ignored{hint}"
                )


def _unknown_keys(
    model: type[BaseModel], data: Mapping[str, Any], path: tuple[str, ...]
) -> Iterator[tuple[str, str | None]]:
    """Yield the dotted path of every key of ``data`` that is no field, with the closest field."""
    accepted = _accepted(model)
    for key, value in data.items():
        name = accepted.get(key)
        if name is None:
            yield ".".join((*path, key)), _closest(key, list(model.model_fields))
            continue
        sub = _submodel(model.model_fields[name])
        if sub is not None and isinstance(value, Mapping):
            yield from _unknown_keys(sub, value, (*path, key))


class SettingsScope:
    """One construction of a settings class: its keyword arguments and the sources it read.

    Used as a context manager around ``BaseSettings.__init__``: inside it, :func:`observe` records
    the environment sources and :func:`validate` finds them; a
    :class:`pydantic_settings.SettingsError` leaving it becomes a
    :class:`~klaviyo_kit.errors.ConfigurationError`.
    """

    def __init__(self, model: type[BaseModel], values: Mapping[str, Any]) -> None:
        """Start a scope for ``model`` built from ``values`` (underscore options excluded)."""
        self.model = model
        self.kwargs = {key: value for key, value in values.items() if not key.startswith("_")}
        self.sources: list[_Observed] = []
        self.problems: list[str] = []
        self._token: Token[SettingsScope | None] | None = None

    def __enter__(self) -> Self:
        """Make this the current scope."""
        self._token = _SCOPE.set(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Leave the scope; report a source that could not be parsed as a configuration error."""
        if self._token is not None:
            _SCOPE.reset(self._token)
        if isinstance(exc, SettingsError):
            # pydantic-settings names the field and the source class; say it in our words.
            raise ConfigurationError(f"the environment could not be read: {exc}") from None

    def given(self, path: tuple[str, ...]) -> bool:
        """Return whether the value at ``path`` came from a keyword argument."""
        node: object = self.kwargs
        for key in path:
            if not isinstance(node, Mapping):
                return True  # the argument itself holds the bad value
            if key not in node:
                return False
            node = node[key]
        return True


def observe(*sources: PydanticBaseSettingsSource) -> None:
    """Record the environment sources of the current scope and note the variables that set nothing.

    Called from ``settings_customise_sources``, where pydantic-settings hands over the sources it
    built for this construction (so ``_env_file=``, ``_env_prefix=`` and the like are honoured).

    Raises:
        klaviyo_kit.errors.ConfigurationError: If a variable that must hold JSON does not.
    """
    scope = _SCOPE.get()
    if scope is None:
        return
    for source in sources:
        if not isinstance(source, EnvSettingsSource) or not source.env_prefix:
            continue
        label = ""
        if isinstance(source, DotEnvSettingsSource):
            env_file = source.env_file
            label = " in the .env file"
            if isinstance(env_file, (str, os.PathLike)):
                label = f" in {os.fspath(env_file)}"
        observed = _Observed(
            label=label,
            env_vars=source.env_vars,
            case_sensitive=bool(source.case_sensitive),
            prefix=source.env_prefix,
            delimiter=source.env_nested_delimiter or "",
        )
        observed.learn(source.settings_cls, None, ())
        scope.problems.extend(observed.problems())
        scope.sources.append(observed)


def _drop_unread(
    model: type[BaseModel], data: Mapping[str, Any], kwargs: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Return ``data`` without the keys that are no field and came from the environment.

    :func:`observe` has reported those; keys given as keyword arguments stay, to be refused.
    """
    accepted = _accepted(model)
    kept: dict[str, Any] = {}
    for key, value in data.items():
        given = kwargs is not None and key in kwargs
        name = accepted.get(key)
        if name is None:
            if given:
                kept[key] = value
            continue
        sub = _submodel(model.model_fields[name])
        if sub is not None and isinstance(value, Mapping):
            inner = kwargs.get(key) if kwargs is not None else None
            kept[key] = _drop_unread(sub, value, inner if isinstance(inner, Mapping) else None)
        else:
            kept[key] = value
    return kept


def _model_at(model: type[BaseModel], path: tuple[str, ...]) -> type[BaseModel] | None:
    """Return the settings model at ``path`` below ``model``, if there is one."""
    current: type[BaseModel] | None = model
    for key in path:
        if current is None:
            return None
        name = _accepted(current).get(key)
        current = None if name is None else _submodel(current.model_fields[name])
    return current


def _as_argument(model: type[BaseModel], path: tuple[str, ...]) -> str:
    """Spell ``path`` as the keyword argument that carries it, without its value."""
    if not path:
        return model.__name__
    value = "..."
    for key in reversed(path[1:]):
        value = f"{{{key!r}: {value}}}"
    return f"{model.__name__}({path[0]}={value})"


def _where(model: type[BaseModel], path: tuple[str, ...], scope: SettingsScope | None) -> str:
    """Name the argument or variable that carried the value at ``path``."""
    if scope is not None and path and not scope.given(path):
        for source in scope.sources:
            name = source.name_for(path)
            if name is not None:
                return name
    return _as_argument(model, path)


def _what(model: type[BaseModel], error: ErrorDetails, path: tuple[str, ...]) -> str:
    """Say what is wrong, in our words where pydantic's are about its internals."""
    if error["type"] == "extra_forbidden":
        parent = _model_at(model, path[:-1])
        match = _closest(path[-1], list(parent.model_fields)) if parent and path else None
        return f"not a setting; did you mean {match}?" if match else "not a setting"
    cause = error.get("ctx", {}).get("error")
    if error["type"] in {"value_error", "assertion_error"} and cause is not None:
        return str(cause)
    return error["msg"]


def _explain(model: type[BaseModel], exc: ValidationError, scope: SettingsScope | None) -> str:
    """Return one line naming every bad setting (never its value)."""
    parts = []
    for error in exc.errors(include_url=False, include_input=False):
        path = tuple(str(key) for key in error["loc"])
        parts.append(f"{_where(model, path, scope)}: {_what(model, error, path)}")
    if len(parts) == 1:
        return parts[0]
    return f"{len(parts)} invalid settings: " + "; ".join(parts)


def validate(model: type[_M], data: Any, handler: Callable[[Any], _M]) -> _M:
    """Validate a settings model, raising a configuration error that names the bad settings.

    Only the outermost settings model translates: a nested one (``rate_limit=``) lets its errors
    reach the outer model, which knows where they came from.

    Args:
        model: The settings class being validated.
        data: Its input.
        handler: Pydantic's validation of ``data``.

    Returns:
        The validated model.

    Raises:
        klaviyo_kit.errors.ConfigurationError: If any setting is unknown or invalid.
    """
    scope = _SCOPE.get()
    if scope is not None and scope.model is not model:
        scope = None
    if _VALIDATING.get() or (scope is None and issubclass(model, BaseSettings)):
        # Nested, or the outer pass of ``model_validate`` on a settings class: pydantic hands that
        # to ``__init__``, which opens the scope and validates again, and reports from there.
        return handler(data)
    token = _VALIDATING.set(True)
    try:
        if scope is not None and isinstance(data, Mapping):
            data = _drop_unread(model, data, scope.kwargs)
        return handler(data)
    except ValidationError as exc:
        raise ConfigurationError(_explain(model, exc, scope)) from None
    finally:
        _VALIDATING.reset(token)
