"""The intrinsic functions `templates.Rendered` leaves alone, evaluated against a rehearsal.

`Rendered` decides conditions and parameter Refs; what is left (Sub, GetAtt, FindInMap,
ImportValue, Ref to resources and pseudo parameters) names things that only exist once the
stacks do. The rehearsal creates those things on moto and in containers, and this fills their
names in, so the container definitions it runs are the template's, value for value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from deploy.templates import Rendered

SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


class UnresolvedError(KeyError):
    """A name the rehearsal has no value for: the template grew something it does not create."""


@dataclass
class World:
    """What exists in the rehearsal: values of Refs, GetAtts and exports."""

    pseudo: dict[str, str]  # AWS::Region, AWS::AccountId, AWS::Partition, ...
    refs: dict[str, str] = field(default_factory=dict)  # logical id -> Ref value
    attributes: dict[str, str] = field(default_factory=dict)  # "Logical.Attr" -> value
    exports: dict[str, str] = field(default_factory=dict)  # export name -> value


class Resolver:
    def __init__(self, rendered: Rendered, world: World):
        self.rendered = rendered
        self.world = world

    def resolve(self, value: Any, where: str = "") -> Any:
        value = self.rendered.resolve(value)
        return self._value(value, where)

    def _value(self, value: Any, where: str) -> Any:
        if isinstance(value, list):
            return [self._value(item, f"{where}[{i}]") for i, item in enumerate(value)]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((function, argument),) = value.items()
            handler = getattr(self, "_" + function.replace("Fn::", "fn_"), None)
            if handler is not None:
                return handler(argument, where)
        return {key: self._value(item, f"{where}.{key}") for key, item in value.items()}

    def _name(self, name: str, where: str) -> str:
        """${Name} or ${Logical.Attr} inside Fn::Sub, or the argument of Ref."""
        if name in self.rendered.parameters:
            return self.rendered.parameters[name]
        for table in (self.world.pseudo, self.world.refs, self.world.attributes):
            if name in table:
                return table[name]
        raise UnresolvedError(f"{where}: the rehearsal has no value for {name!r}")

    def _Ref(self, argument: str, where: str) -> str:  # noqa: N802 - CloudFormation's name
        return self._name(argument, where)

    def _fn_GetAtt(self, argument: list[str], where: str) -> str:  # noqa: N802
        return self._name(".".join(argument), where)

    def _fn_FindInMap(self, argument: list[Any], where: str) -> Any:  # noqa: N802
        mapping, first, second = (self._value(a, where) for a in argument)
        return self.rendered.template["Mappings"][mapping][first][second]

    def _fn_ImportValue(self, argument: Any, where: str) -> str:  # noqa: N802
        name = self._value(argument, where)
        if name not in self.world.exports:
            raise UnresolvedError(f"{where}: the rehearsal has no export {name!r}")
        return self.world.exports[name]

    def _fn_Sub(self, argument: Any, where: str) -> str:  # noqa: N802
        if isinstance(argument, list):
            text, variables = argument
            local = {k: self._value(v, where) for k, v in variables.items()}
        else:
            text, local = argument, {}

        def substitute(match: re.Match) -> str:
            name = match.group(1)
            return str(local[name]) if name in local else str(self._name(name, where))

        return SUB_VARIABLE.sub(substitute, text)

    def _fn_Join(self, argument: list[Any], where: str) -> str:  # noqa: N802
        separator, items = argument
        return separator.join(str(i) for i in self._value(items, where))

    def _fn_Split(self, argument: list[Any], where: str) -> list[str]:  # noqa: N802
        separator, text = argument
        return str(self._value(text, where)).split(separator)

    def _fn_Select(self, argument: list[Any], where: str) -> Any:  # noqa: N802
        index, items = argument
        return self._value(items, where)[int(index)]
