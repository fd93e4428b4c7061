"""How demanding a prompt is: ``simple``, ``moderate``, ``complex`` or ``search``.

``classify(prompt)`` is what ``model="auto"`` routes by. It is deterministic (the same text
always gets the same class) and reads only the prompt, so it costs microseconds and no call.
The first rule that matches decides, and its reason becomes one sentence a user can read:

1. code in the prompt (a ``` fence, a traceback, lines of source), or a request to write,
   fix or review code                                              -> complex
2. a request for current or outside information ("latest", "news", "today's", a URL,
   "search the web")                                               -> search
3. a long prompt (more than ``LONG_WORDS`` words)                  -> complex
4. a request for careful reasoning ("prove", "step by step", "trade-offs", "design a")
                                                                   -> complex
5. a request to explain, compare, summarise or draft, or a prompt of more than
   ``MODERATE_WORDS`` words                                        -> moderate
6. anything else: a short question with none of those cues         -> simple
"""
from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Complexity", "classify", "LEVELS", "LONG_WORDS", "MODERATE_WORDS"]

LEVELS = ("simple", "moderate", "complex", "search")
LONG_WORDS = 300
MODERATE_WORDS = 40

_CODE_BLOCK = re.compile(r"```|^Traceback \(most recent call last\)", re.MULTILINE)
_CODE_LINE = re.compile(
    r"^\s*(def \w+\(|class \w+[(:]|import \w+|from [\w.]+ import |function \w*\(|"
    r"(const|let|var) \w+ ?=|public (static )?\w+|#include ?<|SELECT .+ FROM |"
    r"CREATE TABLE |for \(.*;.*\)|if \(.+\) ?\{|\w+ = \w+\(.*\)\s*$)", re.MULTILINE | re.IGNORECASE)
_CODE_REQUEST = re.compile(
    r"\b(write|implement|refactor|debug|fix|review|optimi[sz]e|port|unit[- ]test)\b"
    r"(?:\W+\w+){0,4}?\W+(function|script|program|class|method|query|regex|algorithm|code|"
    r"bug|tests?|endpoint|api|module|snippet)\b", re.IGNORECASE)
_SEARCH = re.compile(
    r"https?://|\b(latest|newest|today's|tomorrow's|yesterday's|this (week|month)'s|"
    r"(news|weather|prices?|scores?|match|game|happening|events?) (today|tonight|yesterday)|"
    r"right now|breaking|news|headlines?|weather|forecast|stock price|share price|"
    r"exchange rate|who won|score of|search (the web|online|for)|look up|find (me )?"
    r"(sources|links|articles|papers)|up[- ]to[- ]date|current (price|status|events?|ceo|"
    r"president|version|rate))\b", re.IGNORECASE)
_REASONING = re.compile(
    r"\b(prove|proof|derive|derivation|step[- ]by[- ]step|trade-?offs?|design (a|an|the)|"
    r"architect(ure)?|analy[sz]e|in[- ]depth|rigorous(ly)?|formally|reason through|"
    r"think through|evaluate|critique|strategy|optimal)\b", re.IGNORECASE)
_MODERATE = re.compile(
    r"\b(explain|why|how (does|do|did|can|could|would|should)|compare|difference between|"
    r"summari[sz]e|summary|describe|pros and cons|advantages|outline|rewrite|paraphrase|"
    r"draft|write (a|an|me a) (short )?(email|letter|paragraph|story|essay|blog|review|"
    r"cover letter|speech))\b", re.IGNORECASE)


@dataclass(frozen=True)
class Complexity:
    """A prompt's class (one of ``LEVELS``) and why, as a clause ("it contains code")."""

    level: str
    because: str

    @property
    def sentence(self) -> str:
        """"The prompt is complex because it contains code." (one sentence, for people)"""
        return f"The prompt is {self.level} because {self.because}."


def classify(prompt: str) -> Complexity:
    """The class of ``prompt`` by the ordered rules in this module's docstring."""
    words = len(prompt.split())
    if _CODE_BLOCK.search(prompt) or len(_CODE_LINE.findall(prompt)) >= 2:
        return Complexity("complex", "it contains code")
    if cue := _CODE_REQUEST.search(prompt):
        return Complexity("complex", f"it asks for work on code ({_quote(cue)})")
    if cue := _SEARCH.search(prompt):
        return Complexity("search", f"it asks for current or outside information ({_quote(cue)})")
    if words > LONG_WORDS:
        return Complexity("complex", f"it is long ({words} words)")
    if cue := _REASONING.search(prompt):
        return Complexity("complex", f"it asks for careful reasoning ({_quote(cue)})")
    if cue := _MODERATE.search(prompt):
        return Complexity("moderate", f"it asks for an explanation or a draft ({_quote(cue)})")
    if words > MODERATE_WORDS:
        return Complexity("moderate", f"it is of middling length ({words} words)")
    return Complexity("simple", "it is a short request with no code, reasoning or search cues")


def _quote(match: re.Match) -> str:
    return f"\u201c{match.group(0).strip()}\u201d"
