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

Usage (from the repo root): python -m tests.integration.infra.moto_cfn_server -H 127.0.0.1 -p PORT
"""

from __future__ import annotations

import sys
from typing import Any

from moto import server
from moto.cloudformation import models, responses
from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.elbv2.models import ELBv2Backend, FakeTargetGroup

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


_original_create_change_set = responses.CloudFormationResponse.create_change_set
_original_execute_change_set = models.CloudFormationBackend.execute_change_set
responses.CloudFormationResponse.create_change_set = _create_change_set  # type: ignore[method-assign]
models.CloudFormationBackend.execute_change_set = _execute_change_set  # type: ignore[method-assign]
models.Stack.has_parameters = _has_parameters  # type: ignore[method-assign]
_original_convert = ELBv2Backend.convert_and_validate_properties
ELBv2Backend.convert_and_validate_properties = (  # type: ignore[method-assign]
    _convert_and_validate_properties)
FakeTargetGroup.get_cfn_attribute = _target_group_attribute  # type: ignore[attr-defined]

if __name__ == "__main__":
    server.main(sys.argv[1:])
