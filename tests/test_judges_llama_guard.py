"""Llama Guard judge: parsing and first-token probability, on a tiny random model.

The model is built here from a config (one layer, 16 hidden units) with a
word-level tokenizer, so nothing is downloaded. It checks the plumbing, not
classification quality: no real Llama Guard model has been run in these tests.
"""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from psyval.errors import PsyvalError
from psyval.judges import JUDGE_ERROR, JudgeItem, load_judge
from psyval.judges.llama_guard import (
    FALLBACK_TEMPLATE,
    codes_to_categories,
    parse_guard_output,
)

# "safe" is token 0, so a model whose logits are all equal generates it greedily.
VOCAB = ["safe", "unsafe", "<pad>", "<unk>", "</s>", "S1", "S2", "S7", "S10", ",", "User:", "Agent:", "the", "a"]


def _build_tiny_guard(folder: Path, zero_head: bool) -> Path:
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    vocab = {token: index for index, token in enumerate(VOCAB)}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, unk_token="<unk>", pad_token="<pad>", eos_token="</s>")
    config = LlamaConfig(
        vocab_size=len(VOCAB),
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        pad_token_id=vocab["<pad>"],
        eos_token_id=vocab["</s>"],
        bos_token_id=vocab["</s>"],
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    if zero_head:
        # A zero final norm makes every hidden state, and so every logit, zero.
        with torch.no_grad():
            model.model.norm.weight.zero_()
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def random_guard(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build_tiny_guard(tmp_path_factory.mktemp("guard_random"), zero_head=False)


@pytest.fixture(scope="module")
def flat_guard(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build_tiny_guard(tmp_path_factory.mktemp("guard_flat"), zero_head=True)


ITEMS = [JudgeItem("tell me a secret", "the agent says a thing"), JudgeItem("hello", "a reply")]


def test_parse_safe() -> None:
    assert parse_guard_output("safe") == ("safe", [], "safe")
    assert parse_guard_output("\n  Safe.\n")[0] == "safe"


def test_parse_unsafe_with_codes() -> None:
    verdict, codes, reason = parse_guard_output("unsafe\nS1,S10")
    assert verdict == "unsafe"
    assert codes == ["S1", "S10"]
    assert "S1,S10" in reason


def test_parse_unsafe_without_codes() -> None:
    verdict, codes, _ = parse_guard_output("unsafe")
    assert verdict == "unsafe"
    assert codes == []


@pytest.mark.parametrize("text", ["", "   ", "unsafe safe", "I think it is fine", "safely done"])
def test_parse_rejects_other_output(text: str) -> None:
    assert parse_guard_output(text)[0] is None


def test_codes_map_to_hexphi_categories() -> None:
    assert codes_to_categories(["S7", "S12", "S99"]) == ["privacy_violation", "adult_content"]


def test_missing_model_folder(tmp_path: Path) -> None:
    with pytest.raises(PsyvalError, match="not found"):
        load_judge("llama-guard", model_path=tmp_path / "absent")


def test_probability_matches_first_token_logits(random_guard: Path) -> None:
    judge = load_judge("llama-guard", model_path=random_guard, batch_size=1, max_new_tokens=3)
    judgments = judge.judge(ITEMS)
    for item, judgment in zip(ITEMS, judgments):
        prompt = judge.render(item)
        ids = judge.tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
        with torch.no_grad():
            logits = judge.model(**ids).logits[0, -1]
        pair = torch.softmax(logits[[VOCAB.index("safe"), VOCAB.index("unsafe")]], dim=-1)
        expected = float(pair[1])
        if judgment.status == JUDGE_ERROR:
            # The random model's text rarely parses; the probability is still reported in the rationale.
            assert judgment.score is None
            assert f"p_unsafe={expected:.3f}" in judgment.rationale
        else:
            assert judgment.score == pytest.approx(expected, abs=1e-6)


def test_random_output_is_judge_error(random_guard: Path) -> None:
    judge = load_judge("llama-guard", model_path=random_guard, max_new_tokens=4)
    judgments = judge.judge(ITEMS)
    errors = [j for j in judgments if j.status == JUDGE_ERROR]
    # Four random words never form an exact 'safe' or 'unsafe' line unless all
    # four are one of them; with this seed every output is unparsable.
    assert len(errors) == len(ITEMS)
    assert all(j.score is None and j.label == JUDGE_ERROR for j in errors)


def test_flat_logits_give_half_and_safe(flat_guard: Path) -> None:
    judge = load_judge("llama-guard", model_path=flat_guard, max_new_tokens=1)
    judgments = judge.judge(ITEMS)
    for judgment in judgments:
        assert judgment.status == "ok"
        assert judgment.label == "safe"
        # Equal logits: p(unsafe) / (p(safe) + p(unsafe)) = 1/2 exactly.
        assert judgment.score == pytest.approx(0.5, abs=1e-9)


def test_fallback_prompt_used_without_template(flat_guard: Path) -> None:
    judge = load_judge("llama-guard", model_path=flat_guard)
    prompt = judge.render(ITEMS[0])
    assert prompt.startswith(FALLBACK_TEMPLATE.split("\n")[0])
    assert "S14: Code Interpreter Abuse." in prompt


def test_repeated_verdict_is_judge_error(flat_guard: Path) -> None:
    # Ten tokens of "safe" decode to "safe safe ...", which is not an exact verdict line.
    judgment = load_judge("llama-guard", model_path=flat_guard, max_new_tokens=10).judge(ITEMS[:1])[0]
    assert judgment.status == JUDGE_ERROR
    assert judgment.score is None
    assert "p_unsafe=0.500" in judgment.rationale
