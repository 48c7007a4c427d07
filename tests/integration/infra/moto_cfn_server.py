"""moto's server (`moto_server`) with its CloudFormation gaps closed, for deploy.sh tests.

AWS cannot be reached here, so moto stands in for it. `aws cloudformation deploy` works through
change sets, where moto 5 differs from AWS in two ways that would make the test lie:

1. CreateChangeSet for an update with nothing new raises "No updates are to be performed" at once;
   AWS instead creates a FAILED change set ("didn't contain changes"), which the CLI reports as
   "No changes to deploy" under --no-fail-on-empty-changeset. moto's backend already builds exactly
   that FAILED change set; only the response layer's early check gets in the way, so it is skipped
   for change sets (update_stack keeps it).
2. ExecuteChangeSet applies the resources but never recomputes the stack's Outputs, so a stack made
   through a change set has none. Outputs are recomputed after execution, as AWS does.
3. ExecuteChangeSet never records the parameters on the stack, so the next change set is compared
   against stale values. As AWS does, every parameter's effective value (given or default) is kept,
   and compared as text (moto mixes typed values from UsePreviousValue with the CLI's strings).
4. A Listener's forward DefaultAction in the ForwardConfig form (what the route table renders)
   raises KeyError 'TargetGroupArn' in moto's CloudFormation path, though its API path accepts it:
   such actions are passed through as they are.
5. GetAtt of a TargetGroup (TargetGroupFullName, used by alarms and request-count scaling) is not
   implemented; it is answered from the ARN, whose last part AWS defines as the full name.
6. Some resource types have no CloudFormation model in moto: see moto_cfn_models.
7. A parameter of an AWS::SSM::Parameter::Value type (Ec2AmiId) is kept by moto as the value it
   resolved (an AMI id) instead of the parameter's name, so the next update that changes anything
   looks that AMI id up as an SSM name and fails (AttributeError on None). AWS keeps the name and
   resolves it again; here a value that names no SSM parameter is taken as already resolved.
8. An update treats a resource that its Condition kept from being created as one to modify (and
   fails on the missing original: AttributeError on None) or as unchanged (and never creates it
   though its Condition now holds). Every such resource is handed to the update's "Add" step,
   which creates it when its Condition holds under the new parameters, as AWS does. (A created
   resource whose Condition stops holding is still not removed: the deploy test never turns one
   off.)

Usage (from the repo root): python -m tests.integration.infra.moto_cfn_server -H 127.0.0.1 -p PORT
"""

from __future__ import annotations

import sys
from typing import Any

from moto import server
from moto.cloudformation import models, parsing, responses
from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.elbv2.models import ELBv2Backend, FakeTargetGroup
from moto.ssm.models import ssm_backends

from tests.integration.infra import moto_cfn_models  # noqa: F401  (registers its models)


def _create_change_set(self: responses.CloudFormationResponse) -> Any:
    original = responses.CloudFormationResponse._validate_different_update
    responses.CloudFormationResponse._validate_different_update = (  # type: ignore[method-assign]
        lambda *_args, **_kwargs: None)
    try:
        return _original_create_change_set(self)
    finally:
        responses.CloudFormationResponse._validate_different_update = (  # type: ignore[method-assign]
            original)


def _execute_change_set(self: models.CloudFormationBackend, change_set_name: str,
                        stack_name: str | None = None) -> None:
    _original_execute_change_set(self, change_set_name, stack_name)
    change_set = self.describe_change_set(change_set_name)
    assert change_set is not None
    stack = self.stacks[change_set.stack_id]
    stack._parse_template()  # the stack's template was set, but not its parsed form
    stack.output_map = stack._create_output_map()
    stack.parameters = _as_text(stack.stack_parameters)


def _as_text(parameters: dict[str, Any]) -> dict[str, str]:
    return {key: ",".join(map(str, value)) if isinstance(value, list) else str(value)
            for key, value in parameters.items()}


def _has_parameters(self: models.Stack, other_parameters: dict[str, Any]) -> bool:
    return _as_text(self.parameters) == _as_text(other_parameters)


def _convert_and_validate_properties(self: ELBv2Backend,
                                     properties: dict[str, Any]) -> list[dict[str, Any]]:
    actions = properties["DefaultActions"]
    if all(a["Type"] != "forward" or "TargetGroupArn" in a for a in actions):
        return _original_convert(self, properties)
    return list(actions)


def _target_group_attribute(self: FakeTargetGroup, attribute_name: str) -> str:
    if attribute_name == "TargetGroupFullName":  # arn:...:targetgroup/NAME/ID -> its last part
        return str(self.arn.split(":", 5)[5])
    if attribute_name == "TargetGroupName":
        return str(self.name)
    raise UnformattedGetAttTemplateException()


def _build_resource_diff(self: parsing.ResourceMap, other_template: dict[str, Any],
                         parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    diff: dict[str, Any] = _original_build_resource_diff(self, other_template, parameters)
    resources = other_template["Resources"]
    held_back = [n for n in self._resource_json_map if n in resources
                 and "Condition" in resources[n] and n not in self._parsed_resources]
    diff["Modify"] = [n for n in diff["Modify"] if n not in held_back]
    diff["Add"] = [*diff["Add"], *held_back]
    return diff


def _parse_ssm_parameter(self: parsing.ResourceMap, value: str, value_type: str) -> Any:
    if ssm_backends[self._account_id][self._region_name].get_parameter(value) is None:
        return value  # moto's own earlier resolution of it (see 7)
    return _original_parse_ssm_parameter(self, value, value_type)


_original_create_change_set = responses.CloudFormationResponse.create_change_set
_original_execute_change_set = models.CloudFormationBackend.execute_change_set
responses.CloudFormationResponse.create_change_set = _create_change_set  # type: ignore[method-assign]
models.CloudFormationBackend.execute_change_set = _execute_change_set  # type: ignore[method-assign]
models.Stack.has_parameters = _has_parameters  # type: ignore[method-assign]
_original_convert = ELBv2Backend.convert_and_validate_properties
ELBv2Backend.convert_and_validate_properties = (  # type: ignore[method-assign]
    _convert_and_validate_properties)
FakeTargetGroup.get_cfn_attribute = _target_group_attribute  # type: ignore[attr-defined]
_original_parse_ssm_parameter = parsing.ResourceMap.parse_ssm_parameter
_original_build_resource_diff = parsing.ResourceMap.build_resource_diff
parsing.ResourceMap.build_resource_diff = _build_resource_diff  # type: ignore[method-assign]
parsing.ResourceMap.parse_ssm_parameter = _parse_ssm_parameter  # type: ignore[method-assign]

if __name__ == "__main__":
    server.main(sys.argv[1:])
