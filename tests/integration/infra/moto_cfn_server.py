"""moto's server (`moto_server`) with two CloudFormation change-set gaps closed, for deploy.sh tests.

AWS cannot be reached here, so moto stands in for it. `aws cloudformation deploy` works through
change sets, where moto 5 differs from AWS in two ways that would make the test lie:

1. CreateChangeSet for an update with nothing new raises "No updates are to be performed" at once;
   AWS instead creates a FAILED change set ("didn't contain changes"), which the CLI reports as
   "No changes to deploy" under --no-fail-on-empty-changeset. moto's backend already builds exactly
   that FAILED change set; only the response layer's early check gets in the way, so it is skipped
   for change sets (update_stack keeps it).
2. ExecuteChangeSet applies the resources but never recomputes the stack's Outputs, so a stack made
   through a change set has none. Outputs are recomputed after execution, as AWS does.
3. ExecuteChangeSet never records the change set's parameters on the stack, so the next change set
   is compared against stale values; they are recorded after execution, as AWS does.

Usage: python moto_cfn_server.py -H 127.0.0.1 -p PORT
"""

from __future__ import annotations

import sys
from typing import Any

from moto import server
from moto.cloudformation import models, responses


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
    stack.output_map = stack._create_output_map()
    stack.parameters = dict(change_set.parameters)


_original_create_change_set = responses.CloudFormationResponse.create_change_set
_original_execute_change_set = models.CloudFormationBackend.execute_change_set
responses.CloudFormationResponse.create_change_set = _create_change_set  # type: ignore[method-assign]
models.CloudFormationBackend.execute_change_set = _execute_change_set  # type: ignore[method-assign]

if __name__ == "__main__":
    server.main(sys.argv[1:])
