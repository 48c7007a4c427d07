"""ALB redirect actions: fill the #{protocol} #{host} #{port} #{path} #{query} placeholders."""

from __future__ import annotations

from aiohttp import web

from routing.table.model import Redirect


def listen_port(request: web.Request) -> str:
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    return str(sockname[1]) if sockname else "80"


def redirect(request: web.Request, action: Redirect) -> web.Response:
    parts = {"#{protocol}": request.scheme, "#{host}": request.host.split(":", 1)[0],
             "#{port}": listen_port(request), "#{path}": request.raw_path.split("?", 1)[0][1:],
             "#{query}": request.query_string}

    def fill(text: str) -> str:
        for placeholder, value in parts.items():
            text = text.replace(placeholder, value)
        return text

    protocol = fill(action.protocol).lower()
    port = fill(action.port)
    default_port = {"http": "80", "https": "443"}.get(protocol)
    query = fill(action.query)
    location = f"{protocol}://{fill(action.host)}{'' if port == default_port else ':' + port}" \
               f"{fill(action.path)}{'?' + query if query else ''}"
    return web.Response(status=action.status_code, headers={"Location": location})
