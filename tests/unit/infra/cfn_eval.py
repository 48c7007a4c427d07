"""A template as CloudFormation would deploy it for given parameters: its Conditions evaluated,
parameter Refs, Fn::If, Fn::Split and Fn::FindInMap resolved (other intrinsics kept as written).
Only what the templates use; a fact test reads the stacks through it."""

from __future__ import annotations

from typing import Any

Template = dict[str, Any]


def _text(value: Any) -> Any:
    """CloudFormation hands every parameter over as a string: Fn::Equals compares text."""
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


def truth(template: Template, expr: Any, params: dict[str, Any]) -> bool:
    if "Condition" in expr:
        return truth(template, template["Conditions"][expr["Condition"]], params)
    [(function, args)] = expr.items()
    if function == "Fn::Equals":
        left, right = (_text(resolve(template, a, params)) for a in args)
        return bool(left == right)
    if function == "Fn::Not":
        return not truth(template, args[0], params)
    terms = [truth(template, a, params) for a in args]
    return all(terms) if function == "Fn::And" else any(terms)


def resolve(template: Template, value: Any, params: dict[str, Any]) -> Any:
    if isinstance(value, list):
        return [resolve(template, v, params) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Ref"} and value["Ref"] in params:
        return params[value["Ref"]]
    if set(value) == {"Fn::If"}:
        name, then, otherwise = value["Fn::If"]
        chosen = then if truth(template, {"Condition": name}, params) else otherwise
        return resolve(template, chosen, params)
    if set(value) == {"Fn::Split"}:
        separator, text = value["Fn::Split"]
        return str(resolve(template, text, params)).split(separator)
    if set(value) == {"Fn::FindInMap"}:
        mapping, key, field = (resolve(template, v, params) for v in value["Fn::FindInMap"])
        return template["Mappings"][mapping][key][field]
    return {k: resolve(template, v, params) for k, v in value.items()}


def parameters(template: Template, region: str = "us-east-1", **given: str) -> dict[str, Any]:
    """The parameters' values: those given, the others at their defaults."""
    params: dict[str, Any] = {name: p.get("Default") for name, p in
                              template.get("Parameters", {}).items()}
    params.update(given, **{"AWS::Region": region})
    return params


def _holds(template: Template, entry: dict[str, Any], params: dict[str, Any]) -> bool:
    return "Condition" not in entry or truth(template, {"Condition": entry["Condition"]}, params)


def deployed(template: Template, region: str = "us-east-1", **given: str) -> dict[str, Any]:
    """The resources created with these parameters (the others at their defaults), resolved."""
    params = parameters(template, region, **given)
    return {name: resolve(template, r, params) for name, r in template["Resources"].items()
            if _holds(template, r, params)}


def deployed_outputs(template: Template, region: str = "us-east-1",
                     **given: str) -> dict[str, Any]:
    """The outputs the stack has with these parameters: name -> resolved value."""
    params = parameters(template, region, **given)
    return {name: resolve(template, o["Value"], params)
            for name, o in template.get("Outputs", {}).items() if _holds(template, o, params)}
