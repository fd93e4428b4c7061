"""Runs: a template version x a dataset x 2-4 model configurations, answered concurrently,
scored, and resumable.

    runner = EvalRunner(service, evals)            # evals: the store's ``evals()``
    plan = runner.plan("answer_builder@3", dataset, ["claude", "gemini"], user_id="ana")
    plan.estimate                                  # at most this much, before anything is sent
    run_id = runner.start(plan)
    runner.execute_sync(run_id, progress=print, cancel=threading.Event())

``plan`` checks everything before anything is stored or sent: the template renders for every
row (a missing variable names the row and the variable), every model is configured, the judge
and checks are valid. ``execute`` answers each (row, model) pair that has no stored result
yet, ``concurrency`` at a time, through ``AIService.generate`` with the template's service
type and ``metadata.eval_run_id``, so budgets, rate limits and recording apply as to any call.
Each result is committed as soon as its answer arrives; a run killed at any point (even
SIGKILL) and executed again asks only what has no result: a pair is paid for once, except a
call that was in flight at the moment of the kill (its answer never arrived, so it is asked
again). Judging is a second step per result, also resumed. Rendering, checks and reading the judge's
verdict are user-supplied work: each runs bounded on a worker thread, off the event loop.
"""
from __future__ import annotations

import asyncio
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

from core.errors import (BadRequestError, BudgetExceededError, ParleyError, UserRateLimitError)
from core.evals.configurations import Contender, parse_contenders
from core.evals.datasets import EXPECTED, Dataset, check_columns
from core.evals.scoring import (Check, JudgeSpec, judge_prompt, parse_checks, parse_verdict_bounded,
                                passed, run_checks, run_checks_bounded)
from core.prompts import PromptTemplate, parse_ref, render_bounded

__all__ = ["Contender", "parse_contenders", "RunPlan", "EvalRunner", "JUDGE_SERVICE", "Progress"]

JUDGE_SERVICE = "eval_judge"
DEFAULT_SERVICE = "eval"
MAX_CONCURRENCY = 64
Progress = Callable[[dict[str, Any]], None]


@dataclass
class RunPlan:
    """A checked run, not stored yet. ``estimate`` is an upper bound (None: a price is unknown)."""

    template: PromptTemplate
    dataset: Dataset
    contenders: list[Contender]
    user_id: str
    concurrency: int
    judge: JudgeSpec | None = None
    checks: list[Check] = field(default_factory=list)
    estimate: float | None = None
    calls: int = 0

    @property
    def service_type(self) -> str:
        return self.template.service_type or DEFAULT_SERVICE

    def estimate_text(self, catalog) -> str:
        """``at most $0.0123``, ``nothing: local models only``, or why it is unknown."""
        from core.pricing import money

        models = {c.model for c in self.contenders} | ({self.judge.model} if self.judge else set())
        if not self.estimate and all(catalog.get(m).is_local for m in models):
            return "nothing: local models only"
        if self.estimate is None:
            return "unknown (a model's price is unknown)"
        return f"at most {money(self.estimate)}"


class EvalRunner:
    """Plans, starts and executes runs on an ``AIService`` and an evaluation store."""

    def __init__(self, service, evals):
        self.service, self.evals = service, evals

    def plan(self, template_ref: str, dataset: Dataset, models: list, *, user_id: str,
             judge: JudgeSpec | None = None, checks: list | None = None,
             concurrency: int = 4, as_user: str | None = None) -> RunPlan:
        """Check everything and estimate the cost; nothing is stored or sent. With
        ``as_user`` (a signed-in user who is not an admin) the template must be one they may
        read and the dataset theirs."""
        name, version = parse_ref(template_ref)
        row = self.evals.template(name, version, as_user=as_user)
        template = PromptTemplate.from_row(row) if row else None
        if template is None:
            raise BadRequestError(f"There is no template {template_ref!r}; save it first "
                                  "(python -m core templates save).")
        if as_user is not None and dataset.created_by != as_user \
                and self.evals.dataset_by_id(dataset.id, as_user=as_user) is None:
            raise BadRequestError(f"The dataset {dataset.ref} is not yours; upload your own.")
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) \
                or not 1 <= concurrency <= MAX_CONCURRENCY:
            raise BadRequestError(f"Concurrency must be a whole number from 1 to {MAX_CONCURRENCY}.")
        contenders = parse_contenders(models, self.service.catalog)
        if judge is not None:
            self.service.catalog.get(judge.model)
        check_columns(dataset.columns, template.variables, f"Template {template.ref}")
        prompts = [template.render(row, where=f"Row {i + 1}") for i, row in enumerate(dataset.rows)]
        plan = RunPlan(template, dataset, contenders, user_id, concurrency, judge,
                       parse_checks(checks), calls=len(prompts) * len(contenders) * (2 if judge else 1))
        plan.estimate = self._estimate(plan, prompts)
        return plan

    def start(self, plan: RunPlan) -> str:
        """Store the run (status ``pending``) and return its id; or, when this user has an
        unfinished run of the same template version, dataset version and models, its id."""
        models = [c.to_json() for c in plan.contenders]
        earlier = self.evals.unfinished_run(plan.template.id, plan.dataset.id, models, plan.user_id)
        if earlier is not None:
            return earlier["id"]
        run_id = "run-" + uuid.uuid4().hex[:12]
        self.evals.create_run({
            "id": run_id, "created_by": plan.user_id, "template_id": plan.template.id,
            "dataset_id": plan.dataset.id, "service_type": plan.service_type, "models": models,
            "judge": plan.judge.to_json() if plan.judge else None,
            "checks": [c.to_json() for c in plan.checks], "concurrency": plan.concurrency,
            "estimate": plan.estimate, "status": "pending"})
        return run_id

    def execute_sync(self, run_id: str, *, progress: Progress | None = None,
                     cancel: threading.Event | None = None) -> dict[str, Any]:
        """``execute`` on the service's loop thread, for scripts, the CLI and Streamlit."""
        return self.service.submit(self.execute(run_id, progress=progress, cancel=cancel)).result()

    async def execute(self, run_id: str, *, progress: Progress | None = None,
                      cancel: threading.Event | None = None) -> dict[str, Any]:
        """Answer, score and judge what the run has not stored yet; return its progress with
        its final ``status`` (done | cancelled | stopped) and ``note``."""
        job = await asyncio.to_thread(_Job.load, self, run_id)
        job.progress_cb, job.cancel = progress, cancel or threading.Event()
        await asyncio.to_thread(self.evals.set_run_status, run_id, "running", None)
        await job.run()
        status = "stopped" if job.stop_note else "cancelled" if job.cancel.is_set() else "done"
        await asyncio.to_thread(self.evals.set_run_status, run_id, status, job.stop_note)
        return {**job.snapshot(), "status": status, "note": job.stop_note}

    def _estimate(self, plan: RunPlan, prompts: list[tuple[str | None, str]]) -> float | None:
        from core.validation import messages_for
        from core.pricing import DEFAULT_MAX_TOKENS, estimate_call

        total = 0.0
        judge_entry = self.service.catalog.get(plan.judge.model) if plan.judge else None
        for contender in plan.contenders:
            entry = self.service.catalog.get(contender.model)
            for system, prompt in prompts:
                estimate = estimate_call(entry, messages_for(prompt, system), contender.max_tokens,
                                         self.service.count_tokens)
                if estimate.cost is None:
                    return None
                total += estimate.cost
                if judge_entry is not None:
                    judged = estimate_call(judge_entry, messages_for(prompt, system),
                                           (contender.max_tokens or DEFAULT_MAX_TOKENS) + 200,
                                           self.service.count_tokens)
                    if judged.cost is None:
                        return None
                    total += judged.cost
        return total


class _Job:
    """One execution of a run: a fixed pool of ``concurrency`` workers pulling (row, model)
    pairs from one iterator, so memory does not grow with the dataset."""

    def __init__(self, runner: EvalRunner, run: dict, template: PromptTemplate, dataset: Dataset):
        self.runner, self.run_row, self.template, self.dataset = runner, run, template, dataset
        self.contenders = [Contender(m["model"], m["label"], m.get("temperature"), m.get("max_tokens"))
                           for m in run["models"]]
        self.checks = parse_checks(run["checks"])
        self.judge = JudgeSpec(**run["judge"]) if run["judge"] else None
        self.total = len(dataset.rows) * len(self.contenders)
        self.progress_cb: Progress | None = None
        self.cancel = threading.Event()
        self.stop_note: str | None = None
        self.writer = _ResultWriter(runner.evals)
        stored = runner.evals.progress(run["id"])
        self.answered, self.cost = stored["answered"], stored["cost"] + stored["judge_cost"]

    @classmethod
    def load(cls, runner: EvalRunner, run_id: str) -> "_Job":
        run = runner.evals.run(run_id)
        if run is None:
            raise BadRequestError(f"There is no run {run_id!r}; list runs with python -m core eval show.")
        return cls(runner, run, PromptTemplate.from_row(runner.evals.template_by_id(run["template_id"])),
                   Dataset.from_row(runner.evals.dataset_by_id(run["dataset_id"])))

    def snapshot(self) -> dict[str, Any]:
        return {"run_id": self.run_row["id"], "answered": self.answered, "total": self.total,
                "cost": self.cost}

    async def run(self) -> None:
        await asyncio.to_thread(self._adopt_logged_answers)
        results = await asyncio.to_thread(self.runner.evals.results, self.run_row["id"])
        done = {(r["row_index"], r["model"]) for r in results}
        unjudged = [r for r in results if self.judge and r["status"] == "success"
                    and r["judge_score"] is None and r["judge_reason"] is None]
        del results
        work = iter([*(("judge", r["row_index"], r["model"], r["answer"]) for r in unjudged),
                     *(("answer", i, c.label, None) for i in range(len(self.dataset.rows))
                       for c in self.contenders if (i, c.label) not in done)])
        workers = [asyncio.create_task(self._worker(work))
                   for _ in range(int(self.run_row["concurrency"]))]
        await asyncio.gather(*workers)

    def _adopt_logged_answers(self) -> None:
        """Store the answers a killed run paid for and recorded but had not stored yet (the
        call log keeps them when ``privacy: store``); they are not asked again."""
        recorder = self.runner.service.recorder
        if recorder is not None:
            recorder.flush(timeout=30)  # ship what a killed process left in the spool
        labels = {c.label for c in self.contenders}
        for logged in self.runner.evals.logged_answers(self.run_row["id"]):
            if logged["answer"] is None or logged["model"] not in labels:
                continue  # without the answer text, the pair is asked again
            verdicts = run_checks(self.checks, logged["answer"],
                                  self.dataset.rows[logged["row_index"]].get(EXPECTED))
            if self.runner.evals.save_result({**logged, "run_id": self.run_row["id"],
                                              "status": "success", "checks": verdicts,
                                              "passed": passed(verdicts)}):
                self.answered += 1
                self.cost += logged["cost"] or 0.0

    async def _worker(self, work) -> None:
        for kind, row_index, label, answer in work:
            if self.cancel.is_set() or self.stop_note:
                return
            contender = next(c for c in self.contenders if c.label == label)
            if kind == "answer":
                answer = await self._answer(row_index, contender)
            if answer is not None and self.judge is not None:
                await self._judge(row_index, contender, answer)

    async def _answer(self, row_index: int, contender: Contender) -> str | None:
        """Ask one pair and store its result; returns the answer (None if it failed)."""
        row = self.dataset.rows[row_index]
        system, prompt = await render_bounded(self.template, row, where=f"Row {row_index + 1}")
        try:
            result = await self._call(prompt, system, contender.model, self.run_row["service_type"],
                                      {"eval_row": row_index, "eval_model": contender.label,
                                       "template": self.template.ref},
                                      contender.temperature, contender.max_tokens)
        except BudgetExceededError as err:
            self.stop_note = str(err)
            return None
        except ParleyError as err:
            result = None
            error = str(err)
        if self.stop_note is not None or (result is None and self.cancel.is_set()):
            return None
        verdicts = await run_checks_bounded(self.checks, result.content, row.get(EXPECTED)) if result else {}
        stored = {"run_id": self.run_row["id"], "row_index": row_index, "model": contender.label,
                  "status": "success" if result else "failure", "checks": verdicts,
                  "passed": passed(verdicts) if result else (False if self.checks else None)}
        if result is not None:
            stored.update(answer=result.content, call_id=result.call_id, served_by=result.served_by,
                          cost=result.cost, input_tokens=result.input_tokens,
                          output_tokens=result.output_tokens, response_time_ms=result.response_time_ms)
        else:
            stored["error"] = error
        if await self.writer.save(stored):
            self.answered += 1
            self.cost += (result.cost or 0.0) if result else 0.0
            self._report()
        return result.content if result else None

    async def _judge(self, row_index: int, contender: Contender, answer: str) -> None:
        row = self.dataset.rows[row_index]
        _, prompt = await render_bounded(self.template, row, where=f"Row {row_index + 1}")
        system, question = judge_prompt(self.judge.rubric, prompt, answer, row.get(EXPECTED))
        judgement: dict[str, Any] = {}
        try:
            verdict = await self._call(question, system, self.judge.model, JUDGE_SERVICE,
                                       {"eval_row": row_index, "eval_model": contender.label,
                                        "eval_role": "judge"}, 0.0, 300)
        except BudgetExceededError as err:
            self.stop_note = str(err)
            return
        except ParleyError as err:
            judgement["judge_reason"] = f"The judge's call failed: {err}"
        else:
            judgement.update(judge_call_id=verdict.call_id, judge_cost=verdict.cost)
            try:
                judgement["judge_score"], judgement["judge_reason"] = await parse_verdict_bounded(
                    verdict.content, self.judge.model)
            except ParleyError as err:
                judgement["judge_reason"] = str(err)
            self.cost += verdict.cost or 0.0
        await asyncio.to_thread(self.runner.evals.set_judgement, self.run_row["id"], row_index,
                                contender.label, judgement)
        self._report()

    async def _call(self, prompt, system, model, service_type, metadata, temperature, max_tokens):
        """One call through the service; waits out Parley's own per-user rate limit."""
        while True:
            try:
                return await self.runner.service.generate(
                    prompt, user_id=self.run_row["created_by"], service_type=service_type,
                    model=model, system_prompt=system, temperature=temperature,
                    max_tokens=max_tokens, fallbacks=False,
                    metadata={"eval_run_id": self.run_row["id"], **metadata})
            except UserRateLimitError as err:
                if self.cancel.is_set():
                    raise
                await asyncio.sleep(min(max(err.retry_after, 0.5), 60.0))

    def _report(self) -> None:
        if self.progress_cb is not None:
            self.progress_cb(self.snapshot())


class _ResultWriter:
    """Group commit: a worker's result is committed before ``save`` returns (so a kill never
    loses an answered pair), and results arriving while a commit runs share the next one."""

    def __init__(self, evals):
        self.evals = evals
        self._waiting: list[tuple[dict, asyncio.Future]] = []
        self._flushing = False

    async def save(self, result: dict) -> bool:
        """True if the result is new (it was not stored before)."""
        done = asyncio.get_running_loop().create_future()
        self._waiting.append((result, done))
        if not self._flushing:
            self._flushing = True
            asyncio.get_running_loop().create_task(self._flush())
        return await done

    async def _flush(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                try:
                    saved = await asyncio.to_thread(self.evals.save_results, [r for r, _ in batch])
                except Exception as exc:  # every waiting worker gets the store's error
                    for _, done in batch:
                        done.set_exception(exc)
                    continue
                for (_, done), new in zip(batch, saved):
                    done.set_result(new)
        finally:
            self._flushing = False
