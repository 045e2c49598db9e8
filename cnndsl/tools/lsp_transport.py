"""The language server's transport: JSON-RPC frames read within bounds, errors answered without internals.

pygls's own reader trusts its peer: it allocates whatever a Content-Length asks
for, and a message it cannot handle is logged with a traceback. Here a reader
thread cuts standard input into frames (headers of at most MAX_LSP_HEADER_BYTES,
a body of at most MAX_LSP_MESSAGE_BYTES), and the event loop hands each frame's
message to pygls. A frame that is not JSON-RPC gets an error reply and the
connection goes on; input that can no longer be cut into frames (no or a bad
Content-Length, a body over the bound, a header line without end) gets an error
reply, and the server exits cleanly.

The frames that arrived together are handled together, and only when no more
input is waiting does the loop call `idle()`: that is where the server analyses
the documents that changed, so a burst of edits is analysed once, on its last text.
When `idle()` says it left work for later, it is called again once no input has
come for SETTLE_AFTER seconds.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import Callable

from ..core.limits import MAX_LSP_HEADER_BYTES, MAX_LSP_MESSAGE_BYTES

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
SERVER_NOT_INITIALIZED = -32002

READ_SIZE = 65536
WAIT_FOR_REST = 0.05
"""Seconds to wait for the rest of a frame that has begun to arrive before catching up anyway."""
SETTLE_AFTER = 0.25
"""Seconds without input before the work `idle` left for later is done: a pause in typing, not between keys."""


class Broken(Exception):
    """The input cannot be cut into frames any more; the message says why, for the client."""


class Frames:
    """Cuts a byte stream into message bodies: `feed` bytes, then `take` the complete bodies."""

    def __init__(self, max_header: int = MAX_LSP_HEADER_BYTES, max_body: int = MAX_LSP_MESSAGE_BYTES):
        self.max_header, self.max_body = max_header, max_body
        self.buffer = bytearray()
        self.length: int | None = None  # the body length of the frame being read, once its headers are in

    def feed(self, data: bytes) -> None:
        self.buffer += data

    @property
    def partial(self) -> bool:
        """Part of a frame has arrived and the rest has not."""
        return bool(self.buffer) or self.length is not None

    def take(self) -> tuple[list[bytes], Broken | None]:
        """The complete bodies in the buffer, and why the input can be read no further (or None)."""
        bodies: list[bytes] = []
        while True:
            try:
                if self.length is None and not self._headers():
                    return bodies, None
            except Broken as broken:
                return bodies, broken
            if len(self.buffer) < self.length:
                return bodies, None
            bodies.append(bytes(self.buffer[: self.length]))
            del self.buffer[: self.length]
            self.length = None

    def _headers(self) -> bool:
        """Read one header block off the buffer if it is all there; raises Broken if it is not a header."""
        while self.buffer[:2] == b"\r\n" or self.buffer[:1] == b"\n":  # blank lines between frames
            del self.buffer[: 2 if self.buffer[:1] == b"\r" else 1]
        end = self.buffer.find(b"\r\n\r\n")
        end_lf = self.buffer.find(b"\n\n")
        ends = [(at, size) for at, size in ((end, 4), (end_lf, 2)) if at >= 0]
        if not ends:
            if len(self.buffer) > self.max_header:
                raise Broken(f"the headers run past {self.max_header:,} bytes without the blank line that ends them")
            return False
        at, size = min(ends)
        if at > self.max_header:
            raise Broken(f"the headers run past {self.max_header:,} bytes without the blank line that ends them")
        block = bytes(self.buffer[:at])
        del self.buffer[: at + size]
        length = None
        for line in block.split(b"\n"):
            name, colon, value = line.rstrip(b"\r").partition(b":")
            if not colon:
                raise Broken("a header line without `:` (each frame starts `Content-Length: N`, then a blank line)")
            if name.strip().lower() == b"content-length":
                value = value.strip()
                if not value.isdigit():  # ASCII digits only: no sign, no spaces, no other numerals
                    shown = value[:40].decode("ascii", "backslashreplace")
                    raise Broken(f"Content-Length `{shown}` is not a number of bytes")
                if len(value) > 15 or int(value) > self.max_body:
                    shown = value[:40].decode() + ("…" if len(value) > 40 else "")
                    raise Broken(f"a message of {shown} bytes is over the limit of {self.max_body:,}")
                length = int(value)
        if length is None:
            raise Broken("a frame without a Content-Length header")
        self.length = length
        return True


class Reader(threading.Thread):
    """Reads standard input in a thread and hands the loop each batch of complete frames."""

    def __init__(self, fd: int, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue):
        super().__init__(name="cnndsl-lsp-reader", daemon=True)
        self.fd, self.loop, self.queue = fd, loop, queue
        self.frames = Frames()
        self.partial = False
        self.room = threading.Semaphore(2)  # batches handed over and not yet handled: bounds the memory held

    def run(self) -> None:
        try:
            while True:
                data = os.read(self.fd, READ_SIZE)
                if not data:
                    self._hand(None)
                    return
                self.frames.feed(data)
                bodies, broken = self.frames.take()
                self.partial = self.frames.partial
                if bodies:
                    self.room.acquire()
                    self._hand(bodies)
                if broken is not None:
                    self._hand(broken)
                    return
        except BaseException:  # the input went away mid-read, or worse: stop reading, quietly
            self._hand(None)

    def _hand(self, item) -> None:
        try:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, item)
        except RuntimeError:  # the loop has already closed
            pass


class Writer:
    """pygls's writer for standard output; a closed output ends the connection instead of raising."""

    def __init__(self, fd: int):
        self.fd = fd
        self.closed = False

    def write(self, data: bytes) -> None:
        if self.closed:
            return
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self.fd, view) :]
        except OSError:
            self.closed = True

    def close(self) -> None:
        self.closed = True


def error_frame(ident, code: int, message: str) -> bytes:
    body = json.dumps({"jsonrpc": "2.0", "id": ident, "error": {"code": code, "message": message}}).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


async def serve_frames(protocol, idle: Callable[[], bool], fd_in: int, fd_out: int) -> int:
    """Hand each message to pygls's `protocol` until the client exits; the exit code."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()
    writer = Writer(fd_out)
    protocol.set_writer(writer)
    reader = Reader(fd_in, loop, queue)
    reader.start()
    while not writer.closed:
        if queue.empty():
            if reader.partial:  # the rest of a frame is on its way: wait a little for it
                try:
                    item = await asyncio.wait_for(queue.get(), WAIT_FOR_REST)
                except asyncio.TimeoutError:
                    idle()
                    continue
            elif idle():  # work left for a quiet moment: done if no input comes for SETTLE_AFTER
                try:
                    item = await asyncio.wait_for(queue.get(), SETTLE_AFTER)
                except asyncio.TimeoutError:
                    continue
            else:
                item = await queue.get()
        else:
            item = queue.get_nowait()
        if item is None:  # end of input
            return 0
        if isinstance(item, Broken):
            writer.write(error_frame(None, INVALID_REQUEST, f"cnndsl lsp: {item}; closing the connection"))
            return 1
        reader.room.release()
        for body in item:
            code = handle(protocol, writer, body)
            if code is not None:
                return code
    return 0


def handle(protocol, writer: Writer, body: bytes) -> int | None:
    """Give one message to pygls; an exit code when it was `exit`."""
    try:
        raw = json.loads(body)
    except (ValueError, RecursionError):
        writer.write(error_frame(None, PARSE_ERROR, "cnndsl lsp: the message is not JSON"))
        return None
    ident = raw.get("id") if isinstance(raw, dict) else None
    if ident is not None and (isinstance(ident, bool) or not isinstance(ident, (int, str))):
        ident = None
    if (
        not isinstance(raw, dict)
        or raw.get("jsonrpc") != "2.0"
        or ("method" in raw and not isinstance(raw["method"], str))
        or ("id" in raw and ident is None and raw["id"] is not None)
    ):
        writer.write(error_frame(ident, INVALID_REQUEST, "cnndsl lsp: not a JSON-RPC 2.0 message"))
        return None
    request = "method" in raw and ident is not None
    method = raw.get("method")
    if method not in (None, "initialize", "exit") and not getattr(protocol, "cnndsl_initialized", False):
        # As the protocol asks: before `initialize` a request gets ServerNotInitialized and a notification is
        # dropped (pygls has no workspace yet: each one was an internal error, and a line on stderr)
        if request:
            writer.write(error_frame(ident, SERVER_NOT_INITIALIZED, f"cnndsl lsp: {method} before initialize"))
        return None
    try:
        message = protocol.structure_message(raw)
    except Exception:
        if request:
            writer.write(error_frame(ident, INVALID_PARAMS, f"cnndsl lsp: invalid params for {raw['method']}"))
        return None
    if method == "initialize":
        protocol.cnndsl_initialized = True
    try:
        protocol.handle_message(message)
    except SystemExit as leaving:
        return leaving.code if isinstance(leaving.code, int) else 0
    except Exception:
        if request:
            writer.write(error_frame(ident, INTERNAL_ERROR, f"cnndsl lsp: internal error in {raw['method']}"))
    return None
