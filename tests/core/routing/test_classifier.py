"""The auto classifier against a labelled set of prompts (tests/data/complexity_prompts.yaml)."""
from __future__ import annotations


import pytest
import yaml

from core.routing.classifier import LEVELS, LONG_WORDS, classify
from tests.paths import REPO

LABELLED = yaml.safe_load((REPO / "tests" / "data" / "complexity_prompts.yaml")
                          .read_text(encoding="utf-8"))
CASES = [(level, prompt) for level, prompts in LABELLED.items() for prompt in prompts]


def test_the_labelled_set_covers_every_class_with_enough_prompts():
    assert set(LABELLED) == set(LEVELS)
    assert len(CASES) >= 30
    assert all(len(prompts) >= 6 for prompts in LABELLED.values())


@pytest.mark.parametrize("expected, prompt", CASES, ids=[f"{lvl}-{i}" for i, (lvl, _) in enumerate(CASES)])
def test_each_labelled_prompt_gets_its_class(expected, prompt):
    assert classify(prompt).level == expected


def test_the_reason_is_one_sentence_naming_the_class_and_the_cue():
    found = classify("Write a Python function that merges two sorted lists.")
    assert found.sentence == ("The prompt is complex because it asks for work on code "
                              "(\u201cWrite a Python function\u201d).")
    assert classify("What is the latest version of Python?").sentence.count(".") == 1


def test_the_same_prompt_always_gets_the_same_class_and_reason():
    prompt = "Analyze the trade-offs between microservices and a monolith."
    assert len({classify(prompt) for _ in range(5)}) == 1


def test_code_wins_over_search_cues_and_length_decides_without_cues():
    assert classify("```\nprint('latest news')\n```").level == "complex"
    assert classify(" ".join(["word"] * (LONG_WORDS + 1))).level == "complex"
    assert classify(" ".join(["word"] * 50)).level == "moderate"
    assert classify("word word word").level == "simple"
