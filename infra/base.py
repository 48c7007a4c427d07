"""Small helpers every stack module uses: a template, parameters and outputs with one spelling."""

from __future__ import annotations

from typing import Any

from troposphere import Output, Parameter, Tags, Template

PROJECT = "strangler-kit"


def new_template(description: str) -> Template:
    template = Template(Description=f"{PROJECT}: {description}")
    template.set_version("2010-09-09")
    return template


def add_parameter(template: Template, name: str, **props: Any) -> Parameter:
    return template.add_parameter(Parameter(name, **props))


def add_output(template: Template, name: str, value: object, description: str) -> Output:
    return template.add_output(Output(name, Value=value, Description=description))


def name_tags(name: object) -> Tags:
    return Tags(Name=name, Project=PROJECT)
