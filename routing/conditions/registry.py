"""Every condition field the table accepts, by ALB field name (a new field: one line here)."""

from __future__ import annotations

from routing.conditions.base import Condition
from routing.conditions.host_header import HostHeader
from routing.conditions.http_header import HttpHeader
from routing.conditions.http_request_method import HttpRequestMethod
from routing.conditions.path_pattern import PathPattern
from routing.conditions.query_string import QueryString
from routing.conditions.source_ip import SourceIp

FIELDS: dict[str, type[Condition]] = {kind.field: kind for kind in (
    PathPattern, HttpRequestMethod, HttpHeader, HostHeader, QueryString, SourceIp)}
