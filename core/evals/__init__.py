"""Evaluations on real work: versioned prompt templates, datasets, runs across models,
scoring (checks and an LLM judge), results and the decision they justify.

Modules: ``templates`` (Jinja2 sandbox), ``datasets`` (CSV/JSONL), ``scoring`` (checks, judge),
``runs`` (plan, execute, resume), ``stats`` and ``results`` (totals, export), ``workbench``
(what pages and the CLI call). Importing this package imports none of them.
"""
