"""Start and stop llama-cpp-python's OpenAI-compatible server for tests and benchmarks.

The server runs the GGUF file of the embedded SmolLM2 default on 127.0.0.1,
on a free port, so tests compare it with the in-process backend on the same
weights. It is a child process of the test run and is always stopped by it.

The shipped file stores most weights in Q4_1, and llama.cpp multiplies them
with 8-bit quantised activations, while the in-process backend runs their
float32 dequantisation. :func:`write_float32_gguf` writes that same
dequantisation back as a GGUF file, so a server can also run exactly the
in-process weights and a comparison isolates the backends from quantisation.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

from psyval.respondents.model_cache import DEFAULT_MODEL, embedded_gguf_path

#: Context window of the test server, in tokens. A pvq-40-style survey prompt
#: is about 140 tokens, and a small window makes an over-long prompt cheap.
TEST_CONTEXT_TOKENS = 1024


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LlamaServer:
    """One ``python -m llama_cpp.server`` process serving the default GGUF model.

    Parameters
    ----------
    port
        The port to listen on; ``None`` picks a free one.
    context_tokens
        The server's ``--n_ctx``.
    threads
        The server's ``--n_threads``. One thread is llama-cpp-python's own
        default on 2 cores, and it avoids llama.cpp's spinning worker threads
        competing with the test process for the same cores.
    model_path
        The GGUF file to serve; ``None`` serves the embedded default's file.
    """

    def __init__(
        self,
        port: int | None = None,
        context_tokens: int = TEST_CONTEXT_TOKENS,
        threads: int = 1,
        model_path: Path | None = None,
    ) -> None:
        self.model_path = model_path or embedded_gguf_path(DEFAULT_MODEL)
        self.port = port or free_port()
        self.context_tokens = context_tokens
        self.threads = threads
        self.process: subprocess.Popen[bytes] | None = None
        handle, name = tempfile.mkstemp(prefix="psyval-llama-server-", suffix=".log")
        os.close(handle)
        self.log_path = Path(name)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self, ready_timeout: float = 120.0) -> LlamaServer:
        """Start the server and wait until ``/v1/models`` answers."""
        if self.process is not None and self.process.poll() is None:
            return self
        command = [
            sys.executable, "-m", "llama_cpp.server",
            "--model", str(self.model_path),
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--n_ctx", str(self.context_tokens),
            "--n_threads", str(self.threads),
            "--n_threads_batch", str(self.threads),
            "--seed", "0",
            "--verbose", "False",
        ]
        log_file = self.log_path.open("ab")
        self.process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log_file.close()
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"llama_cpp.server exited with status {self.process.returncode}; log:\n{self.log_tail()}"
                )
            try:
                if httpx.get(f"{self.base_url}/models", timeout=2.0, trust_env=False).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"llama_cpp.server did not answer within {ready_timeout:g} s; log:\n{self.log_tail()}")

    def stop(self) -> None:
        """Stop the server process (terminate, then kill after 5 s)."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    def kill(self) -> None:
        """Kill the server at once, as a crash would, dropping requests in flight."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def request_count(self, path: str = "/v1/completions") -> int:
        """Count the requests to ``path`` in the server's access log so far."""
        text = self.log_path.read_text(errors="replace")
        return sum(1 for line in text.splitlines() if f'"POST {path} ' in line)

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def __enter__(self) -> LlamaServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def write_float32_gguf(source: Path, target: Path) -> Path:
    """Write ``source`` to ``target`` with every tensor dequantised to float32.

    The metadata (architecture, tokenizer, chat template) is copied unchanged
    except ``general.file_type``. The tensors keep llama.cpp's layout, and
    their values equal what transformers loads from ``source``, because both
    dequantise with the ``gguf`` package. About 540 MB for SmolLM2-135M.
    """
    import gguf
    from gguf.quants import dequantize

    reader = gguf.GGUFReader(source)
    writer = gguf.GGUFWriter(target, reader.fields["general.architecture"].contents())
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture":
            continue  # written by GGUFWriter itself
        value_type = gguf.GGUFValueType(field.types[0])
        value = gguf.LlamaFileType.ALL_F32 if key == "general.file_type" else field.contents()
        item_type = gguf.GGUFValueType(field.types[1]) if value_type == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(key, value, value_type, sub_type=item_type)
    for tensor in reader.tensors:
        writer.add_tensor(tensor.name, dequantize(tensor.data, tensor.tensor_type).astype(np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return target


__all__ = ["LlamaServer", "TEST_CONTEXT_TOKENS", "free_port", "write_float32_gguf"]
