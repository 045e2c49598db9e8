"""The language server's loop, on pipes: when `idle` is called."""

from __future__ import annotations

import asyncio
import os
import threading
import time

from cnndsl.tools import lsp_transport
from cnndsl.tools.lsp_transport import serve_frames


class _Protocol:
    def set_writer(self, writer):
        pass


def test_work_idle_leaves_for_later_is_done_once_no_input_comes_for_a_while():
    calls: list[float] = []

    def idle() -> bool:
        calls.append(time.monotonic())
        return len(calls) == 1  # the first call leaves work; the second does it

    read_end, write_end = os.pipe()
    out_read, out_write = os.pipe()
    codes: list[int] = []
    thread = threading.Thread(target=lambda: codes.append(asyncio.run(serve_frames(_Protocol(), idle, read_end, out_write))))
    thread.start()
    time.sleep(lsp_transport.SETTLE_AFTER * 3)
    os.close(write_end)  # end of input: the loop returns 0
    thread.join(10)
    for fd in (read_end, out_read, out_write):
        os.close(fd)
    assert codes == [0]
    assert len(calls) == 2 and calls[1] - calls[0] >= lsp_transport.SETTLE_AFTER
