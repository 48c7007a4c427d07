"""Small helpers every stack module uses: a template, parameters and outputs with one spelling."""

from __future__ import annotations

from typing import Any, TypeVar

from troposphere import BaseAWSObject, Output, Parameter, Tags, Template

PROJECT = "strangler-kit"
T = TypeVar("T", bound=BaseAWSObject)


def new_template(description: str) -> Template:
    template = Template(Description=f"{PROJECT}: {description}")
    template.set_version("2010-09-09")
    return template


def add_parameter(template: Template, name: str, **props: Any) -> Parameter:
    return template.add_parameter(Parameter(name, **props))


def add_output(template: Template, name: str, value: object, description: str,
               condition: str | None = None) -> Output:
    """An output; with `condition`, only when that Condition holds (its value may then refer to
    resources created under the same Condition)."""
    extra = {} if condition is None else {"Condition": condition}
    return template.add_output(Output(name, Value=value, Description=description, **extra))


def name_tags(name: object) -> Tags:
    return Tags(Name=name, Project=PROJECT)


def skip_checks(resource: T, reasons: dict[str, str]) -> T:
    """Write checkov skips into the resource's Metadata, each check id with why it does not
    apply here: the reason travels with the template and checkov prints it with the skip."""
    resource.Metadata = {"checkov": {"skip": [
        {"id": check, "comment": reason} for check, reason in sorted(reasons.items())]}}
    return resource
