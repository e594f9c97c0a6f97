"""Helpers of the rollout tests (imported as ``rollout_testkit``; conftest puts this folder on
``sys.path`` so that the import works under any pytest import mode).

``ChatServer``: a real OpenAI-compatible chat server on localhost, for tests of the ``openai`` backend.

It speaks HTTP and the ``/v1/chat/completions`` JSON format; what it answers is decided by a
``respond(messages, n)`` function the test supplies (a scripted "model"). It can delay answers,
fail the first requests with an HTTP status, or hang longer than a client's timeout, and it records
every request and the most requests it ever had in flight at once.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cobalt.config import build_config
from cobalt.records import Problem
from cobalt.rollout import RolloutConfig

Respond = Callable[[list[dict[str, Any]], int], list[str]]


class HTTPFailure(Exception):
    """Raised by a ``respond`` function: the server answers with this HTTP status instead."""

    def __init__(self, status: int, message: str = "injected failure"):
        super().__init__(status)
        self.status = status
        self.message = message


class ChatServer:
    def __init__(
        self,
        respond: Respond,
        *,
        delay_s: float = 0.0,
        fail_first: int = 0,
        fail_status: int = 503,
        hang_first: int = 0,
        hang_s: float = 2.0,
    ):
        self.respond = respond
        self.delay_s = delay_s
        self.fail_left = fail_first
        self.fail_status = fail_status
        self.hang_left = hang_first
        self.hang_s = hang_s
        self.requests: list[dict[str, Any]] = []
        self.authorizations: list[str | None] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.status_counts: dict[int, int] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> ChatServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _plan(self) -> tuple[int | None, float]:
        """(status to fail with or None, seconds to wait) for the next request."""
        with self._lock:
            if self.fail_left > 0:
                self.fail_left -= 1
                return self.fail_status, 0.0
            if self.hang_left > 0:
                self.hang_left -= 1
                return None, self.hang_s
        return None, self.delay_s

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                if self.path.rstrip("/") != "/v1/chat/completions":
                    return self._send(404, {"error": {"message": f"no route {self.path}"}})
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server._lock:
                    server.requests.append(body)
                    server.authorizations.append(self.headers.get("Authorization"))
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    status, wait = server._plan()
                    time.sleep(wait)
                    message = "injected failure"
                    if status is None:
                        try:
                            return self._send(200, server._completion(body))
                        except HTTPFailure as failure:
                            status, message = failure.status, failure.message
                    self._send(status, {"error": {"message": message, "code": status}})
                finally:
                    with server._lock:
                        server.in_flight -= 1

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                with server._lock:
                    server.status_counts[status] = server.status_counts.get(status, 0) + 1
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout): nothing to deliver

        return Handler

    def _completion(self, body: dict[str, Any]) -> dict[str, Any]:
        n = int(body.get("n") or 1)
        contents = self.respond(body["messages"], n)
        assert len(contents) == n
        prompt_tokens = sum(len(m["content"]) for m in body["messages"]) // 4  # a stand-in token count
        completion_tokens = sum(len(c) // 4 + 1 for c in contents)
        return {
            "id": f"chatcmpl-{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [
                {"index": i, "message": {"role": "assistant", "content": c}, "finish_reason": "stop"}
                for i, c in enumerate(contents)
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }


# --- a scripted policy and its problem --------------------------------------------------------

ADD_RIGHT = "a, b = map(int, input().split())\nprint(a + b)"
ADD_WRONG = "a, b = map(int, input().split())\nprint(a - b)"
NO_CODE_ANSWER = "I am not sure how to solve this one."


def fenced(code: str) -> str:
    return f"Here is my program.\n```python\n{code}\n```\n"


def add_problem(problem_id: str = "add", public_outputs: tuple[str, str] = ("3\n", "9\n")) -> Problem:
    """Read two integers, print their sum: 2 public tests, 3 hidden ones."""
    return Problem(
        id=problem_id,
        statement="Read two integers a and b on one line and print a + b.",
        public_tests={"inputs": ["1 2\n", "4 5\n"], "outputs": list(public_outputs)},
        hidden_tests={"inputs": ["10 20\n", "-3 3\n", "7 0\n"], "outputs": ["30\n", "0\n", "7\n"]},
    )


def repairing_model(messages: list[dict[str, Any]], n: int) -> list[str]:
    """A scripted policy. First answers, by sample: 0 wrong, 1 no code, 2 and later right. A later
    turn writes the right program after a failing test or the no-code message, and otherwise
    repeats its previous answer."""
    if len(messages) == 2:
        options = [fenced(ADD_WRONG), NO_CODE_ANSWER, fenced(ADD_RIGHT)]
        return [options[min(i, 2)] for i in range(n)]
    last = messages[-1]["content"]
    if "Expected Output" in last or "no code block" in last:
        return [fenced(ADD_RIGHT)] * n
    return [messages[-2]["content"]] * n


def rollout_config(**overrides: Any) -> RolloutConfig:
    """A small rollout: 3 samples, 2 repair turns, 1 s per test."""
    values = {"sampling.n": 3, "turns": 2, "sampling.max_new_tokens": 16, "sandbox.cpu_s": 1.0}
    values.update(overrides)
    return build_config(RolloutConfig, flags=values)
