"""Use-cases built from their constructors' type annotations: how the composition root
(container.py) lists each use-case once, as a typed field of Services."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

import attrs

_PLAIN = (bool, int, float, str)


class Wiring:
    """Builds use-cases from their constructors' type annotations, each class once.

    A parameter gets, in this order: the provided field of its type (or of a subtype);
    for a protocol or a plain value, the provided field of its name; for any other class,
    an instance built the same way and shared; else its default. An attrs class (a policy,
    a value) is never built here: it comes from Settings through a provider, and a missing
    one is an error at start-up, not a silent default.
    """

    def __init__(self, provided: Mapping[str, object], hints: Mapping[str, Any]) -> None:
        self._provided = provided
        self._by_type = [
            (hints[name], value)
            for name, value in provided.items()
            if isinstance(hints[name], type) and hints[name] not in _PLAIN
        ]
        self._built: dict[type, object] = {}

    def build(self, cls: type) -> object:
        if cls not in self._built:
            if attrs.has(cls) or cls in _PLAIN or is_protocol(cls):
                raise TypeError(f"{cls.__qualname__} is not provided by the container")
            parameters = inspect.signature(cls, eval_str=True).parameters.values()
            self._built[cls] = cls(**{p.name: self._argument(cls, p) for p in parameters})
        return self._built[cls]

    def _argument(self, owner: type, parameter: inspect.Parameter) -> object:
        hint = parameter.annotation
        if isinstance(hint, type):
            fits = [value for provided, value in self._by_type if hint in provided.__mro__]
            if len(fits) > 1:
                raise TypeError(f"{owner.__qualname__}.{parameter.name}: more than one {hint}")
            if fits:
                return fits[0]
            if not (hint in _PLAIN or is_protocol(hint)):
                return self.build(hint)
        if parameter.name in self._provided:
            value = self._provided[parameter.name]
            if hint in _PLAIN and not isinstance(value, hint):
                raise TypeError(f"{owner.__qualname__}.{parameter.name}: {value!r} is no {hint}")
            return value
        if parameter.default is not inspect.Parameter.empty:
            return parameter.default
        raise TypeError(f"{owner.__qualname__}.{parameter.name}: nothing provides {hint}")


def is_protocol(cls: type) -> bool:
    return bool(getattr(cls, "_is_protocol", False))
