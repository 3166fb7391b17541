"""How a policy is named for the harness: a reference by name, or `[name=]module:factory[ {json}]`."""

from __future__ import annotations

import pytest

from evaluation.references import REFERENCES, resolve


def test_a_reference_by_name_and_a_policy_spec_with_a_name_and_keyword_arguments():
    assert resolve("oracle") is REFERENCES["oracle"]
    plain = resolve("mypkg.policy:build")
    assert (plain.name, plain.spec, plain.kwargs) == ("mypkg.policy:build", "mypkg.policy:build", {})
    named = resolve('myopic=strategy.policy:build {"horizon_weight": 0, "harm_scale": 2.5}')
    assert (named.name, named.spec) == ("myopic", "strategy.policy:build")
    assert named.kwargs == {"horizon_weight": 0, "harm_scale": 2.5}
    unnamed = resolve('strategy.policy:build {"horizon_weight": 0}')
    assert unnamed.name == 'strategy.policy:build {"horizon_weight": 0}' and unnamed.kwargs == {"horizon_weight": 0}


@pytest.mark.parametrize(
    "text, message",
    [
        ("nonsense", "unknown policy"),
        ("a=b:c {not json}", "not a JSON object"),
        ("a=b:c [1, 2]", "must be a JSON object"),
    ],
)
def test_a_malformed_policy_is_refused_with_the_reason(text, message):
    with pytest.raises(ValueError, match=message):
        resolve(text)
