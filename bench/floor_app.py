"""The floor: a bare Flask app on waitress that parses the JSON body and returns a fixed one.

Nothing can be faster on this stack, so `ours / floor` says what the mock's own work costs.
`python bench/floor_app.py [--threads N]` listens on a free 127.0.0.1 port and prints its URL.
"""

from __future__ import annotations

import argparse
import json
import logging

from flask import Flask, Response, request

# About the size of an Ampersand project: the same bytes on the wire as our create.
FIXED = json.dumps({"id": "7d3c3e1e-2f4b-4d4f-9a8b-2b7f1a0c9e11", "name": "p-bench", "appName": "Bench App",
                    "orgId": "9f7c3e2a-61b8-4f5c-8d1a-eb24f3b05d79", "createTime": "2025-01-01T00:00:01.000000Z",
                    "updateTime": "2025-01-01T00:00:01.000000Z",
                    "entitlements": {"brandingRemoval": {"value": False}}}, separators=(",", ":")).encode()


def create_app() -> Flask:
    app = Flask("floor")

    @app.route("/<path:path>", methods=["GET", "POST"])
    def anything(path: str) -> Response:
        if request.method == "POST":
            request.get_json()
            return Response(FIXED, status=201, content_type="application/json")
        return Response(FIXED, status=200, content_type="application/json")

    return app


def main() -> None:
    from waitress.server import create_server

    # As the mock's CLI does: waitress's "Task queue depth" warning costs time on most requests.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)

    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    server = create_server(create_app(), host="127.0.0.1", port=0, threads=args.threads, ident="floor")
    host, port = server.socket.getsockname()[:2]
    print(f"floor listening on http://{host}:{port}", flush=True)
    server.run()


if __name__ == "__main__":
    main()
