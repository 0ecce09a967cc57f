"""The real YAML language server (npm's yaml-language-server, tests/lsp/), driven over LSP on
stdio by pygls's client, for tests/test_editor.py.

The client runs on an event loop in a thread of its own, so that tests call it synchronously;
every wait is bounded (WAIT seconds) and fails with what the server had said by then.
"""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from lsprotocol import types
from pygls.lsp.client import LanguageClient

from tests.helpers import ROOT

SERVER = ROOT / "tests/lsp/node_modules/yaml-language-server/bin/yaml-language-server"
WAIT = 30.0  # seconds: far above the server's few milliseconds, far below a hung test
T = TypeVar("T")


class YamlLanguageServer:
    """One yaml-language-server process for a workspace folder (root), with its settings."""

    def __init__(self, root: Path, settings: dict[str, Any]) -> None:
        node = shutil.which("node")
        assert node, "node is not on PATH: the editor tests run yaml-language-server with it"
        assert SERVER.is_file(), (
            f"{SERVER.relative_to(ROOT)} is missing: install it with "
            "`npm ci --prefix tests/lsp` (make test does)"
        )
        self.root = root
        self._published: dict[str, list[types.Diagnostic]] = {}
        self._changed = threading.Condition()
        self._opened: set[str] = set()
        self.log: list[str] = []  # what the server logged (window/logMessage), for failures
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.client = LanguageClient("dsc-tests", "1")

        # The server asks for its settings (VS Code answers from settings.json); sections other
        # than "yaml" (http, editor) keep their defaults.
        @self.client.feature(types.WORKSPACE_CONFIGURATION)
        def configuration(params: types.ConfigurationParams) -> list[Any]:
            return [settings if item.section == "yaml" else None for item in params.items]

        @self.client.feature(types.WINDOW_LOG_MESSAGE)
        def logged(params: types.LogMessageParams) -> None:
            with self._changed:
                self.log.append(params.message)

        @self.client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def published(params: types.PublishDiagnosticsParams) -> None:
            with self._changed:
                self._published[params.uri] = list(params.diagnostics)
                self._changed.notify_all()

        self._run(self.client.start_io(node, str(SERVER), "--stdio"), "start the server")
        self._run(
            self.client.initialize_async(
                types.InitializeParams(
                    process_id=None,
                    root_uri=root.as_uri(),
                    workspace_folders=[types.WorkspaceFolder(root.as_uri(), root.name)],
                    capabilities=types.ClientCapabilities(),
                )
            ),
            "initialize",
        )
        # The server asks for its settings once, when initialized (workspace/configuration,
        # answered above). Telling it of a change as well would make it apply them a second
        # time, later, and reset its schemas under documents already open.
        self._notify(self.client.initialized, types.InitializedParams())

    def _notify(self, send: Callable[[Any], None], params: Any) -> None:
        """Send a notification from the loop's thread: the client's writer (an asyncio stream)
        is not thread-safe, and a write from the test's thread can be lost."""

        async def on_the_loop() -> None:
            send(params)

        self._run(on_the_loop(), "take a notification")

    def _run(self, work: Coroutine[Any, Any, T], what: str) -> T:
        """Run work on the client's loop and wait for it, WAIT seconds at most."""
        future = asyncio.run_coroutine_threadsafe(work, self._loop)
        try:
            return future.result(timeout=WAIT)
        except TimeoutError:
            future.cancel()
            raise AssertionError(f"yaml-language-server did not {what} in {WAIT} s") from None

    def open(self, path: Path, text: str) -> str:
        """Open a document at path (it need not exist on disk) with text; returns its URI.

        A path is opened once: what the server publishes for a URI is then about that text
        alone (closing a document publishes an empty list, which a reopening could mistake
        for its own)."""
        uri = path.as_uri()
        assert uri not in self._opened, f"{path} is already open: use another file name"
        self._opened.add(uri)
        document = types.TextDocumentItem(uri, "yaml", 1, text)
        self._notify(self.client.text_document_did_open, types.DidOpenTextDocumentParams(document))
        return uri

    def diagnostics(
        self, uri: str, until: Callable[[list[types.Diagnostic]], bool] = lambda _: True
    ) -> list[types.Diagnostic]:
        """The diagnostics the server publishes for the document at uri: the first list it
        publishes, or the first for which until holds (the server publishes again when its
        settings change)."""
        seen: list[types.Diagnostic] | None = None

        def ready() -> bool:
            nonlocal seen
            seen = self._published.get(uri)
            return seen is not None and until(seen)

        with self._changed:
            if not self._changed.wait_for(ready, timeout=WAIT):
                raise AssertionError(
                    f"yaml-language-server did not publish the diagnostics awaited in {WAIT} s "
                    f"for {uri}; last published: {seen}; the server's log: {self.log[-10:]}"
                )
        return list(seen or [])

    def completion(self, uri: str, line: int, character: int) -> list[types.CompletionItem]:
        position = types.Position(line, character)
        params = types.CompletionParams(types.TextDocumentIdentifier(uri), position)
        result = self._run(self.client.text_document_completion_async(params), "complete")
        if result is None:
            return []
        return list(result.items if isinstance(result, types.CompletionList) else result)

    def hover(self, uri: str, line: int, character: int) -> str:
        position = types.Position(line, character)
        params = types.HoverParams(types.TextDocumentIdentifier(uri), position)
        result = self._run(self.client.text_document_hover_async(params), "hover")
        if result is None:
            return ""
        contents = result.contents
        return contents.value if isinstance(contents, types.MarkupContent) else str(contents)

    def close(self) -> None:
        try:
            self._run(self.client.shutdown_async(None), "shut down")
            self._notify(self.client.exit, None)
            self._run(self.client.stop(), "exit")
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=WAIT)
            self._loop.close()
