"""``Workbench``: what the evals page, the CLI and the API do with templates, datasets, runs,
votes and decisions, on one ``AIService`` and its store.

    bench = Workbench(service)
    bench.save_template("answer_builder", "Answer: {{question}}", service_type="answer_builder",
                        user="ana")
    data = bench.upload_dataset(open("qs.csv", "rb").read(), "qs.csv", user="ana")
    plan = bench.runner.plan("answer_builder", data, ["claude", "gemini"], user_id="ana")
    run_id = bench.runner.start(plan); bench.runner.execute_sync(run_id)
    bench.report(run_id)["totals"]
    bench.decide(run_id, "gemini", user="ana", everyone=False)

Every write is checked first and changes nothing when refused (``BadRequestError``).

Tenancy: methods taking ``as_user`` act for that signed-in user, who reaches only their own
templates, datasets and runs (an admin: everyone's); ``as_user=None`` is a trusted caller (an
admin's page, the CLI). Another user's run opens only through a share link (``share``,
``shared_run``) its owner or an admin made.
"""
from __future__ import annotations

from typing import Any

from core.errors import BadRequestError, ConfigError
from core.evals.datasets import Dataset, parse_dataset
from core.evals.results import matrix, summarize
from core.evals.runs import EvalRunner
from core.prompts import PromptTemplate, check_name, check_source, parse_ref, variables_of
from core.routing.preferences import PreferenceBook
from core.store.base import EvalsHolder

__all__ = ["Workbench", "evals_store"]


def evals_store(store):
    """The evaluation tables of ``store``; a clear ``ConfigError`` for a backend without them."""
    if store is None:
        raise ConfigError("has no store; evaluations need one (PARLEY_DATABASE_URL)",
                          key="PARLEY_DATABASE_URL")
    if not isinstance(store, EvalsHolder):
        raise ConfigError(f"is a {store.backend} store; evaluations are kept in SQLite or "
                          "Postgres (use the project's postgresql:// connection string)",
                          key="PARLEY_DATABASE_URL")
    return store.evals()


class Workbench:
    """Evaluations on ``service`` (an ``AIService``) and its store."""

    def __init__(self, service, evals=None):
        self.service = service
        self.evals = evals if evals is not None else evals_store(service.store)
        self.runner = EvalRunner(service, self.evals)

    def default_judge(self) -> str:
        """The bundled local model, the judge when none is named; ``BadRequestError`` if it
        is not configured."""
        from core.config.model import LOCAL_MODEL_NAME

        if LOCAL_MODEL_NAME not in self.service.settings.model_names:
            raise BadRequestError(f"No judge was named and the bundled model "
                                  f"({LOCAL_MODEL_NAME!r}) is not configured; name a judge model.")
        return LOCAL_MODEL_NAME

    # -- templates and datasets -----------------------------------------------------

    def save_template(self, name: str, template: str, *, user: str, system: str | None = None,
                      service_type: str | None = None, settings: dict | None = None,
                      admin: bool = False) -> PromptTemplate:
        """Check and store a new version of ``name``; return it (``.ref`` = ``name@N``). Only
        the name's owner (who saved its first version) or an admin (``admin``, or listed in
        ``parley.admins``) adds a version; anyone else gets ``BadRequestError`` naming the owner."""
        from core.routing.preferences import check_service

        check_name(name)
        check_source(template, "template")
        if system is not None and system.strip():
            check_source(system, "system prompt")
        else:
            system = None
        check_service(self.service.settings, service_type)
        return PromptTemplate.from_row(self.evals.save_template({
            "name": name, "template": template, "system": system, "service_type": service_type,
            "variables": variables_of(system, template), "settings": dict(settings or {}),
            "created_by": user}, admin=admin))

    def template(self, ref: str, *, as_user: str | None = None) -> PromptTemplate:
        """The template version ``ref`` names, if ``as_user`` may read it."""
        name, version = parse_ref(ref)
        found = self.evals.template(name, version, as_user=as_user)
        if found is None:
            raise BadRequestError(f"There is no template {ref!r}.")
        return PromptTemplate.from_row(found)

    def upload_dataset(self, data: bytes | str, filename: str, *, user: str,
                       name: str | None = None) -> Dataset:
        """Parse a CSV/JSONL file and store it as a new version (the same content as the
        latest version of its name gives that version back). The name defaults to the file's."""
        columns, rows = parse_dataset(data, filename)
        stem = filename.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        name = check_name(name or "".join(ch if ch.isalnum() or ch in "_-." else "_" for ch in stem))
        return Dataset.from_row(self.evals.save_dataset(name, columns, rows, created_by=user))

    def dataset_from_calls(self, call_ids: list[str], *, name: str, user: str,
                           as_user: str | None = None) -> Dataset:
        """A dataset version (columns prompt, system, expected) from recorded calls;
        a template over it uses ``{{ prompt }}`` (and ``{{ system }}``)."""
        from core.evals import from_calls

        check_name(name)
        rows = from_calls.rows_from_calls(self.service.store, call_ids, as_user=as_user)
        return Dataset.from_row(self.evals.save_dataset(name, from_calls.COLUMNS, rows,
                                                        created_by=user, source="calls"))

    def dataset_from_service(self, service_type: str, *, name: str, user: str, limit: int = 100,
                             as_user: str | None = None) -> Dataset:
        """A dataset from the latest ``limit`` successful calls of ``service_type``."""
        from core.evals import from_calls

        ids = from_calls.call_ids_for_service(self.service.store, service_type, limit=limit,
                                              as_user=as_user)
        return self.dataset_from_calls(ids, name=name, user=user, as_user=as_user)

    def dataset(self, ref: str, *, user: str | None = None) -> Dataset:
        """``user``'s dataset version ``ref`` (``user`` None: anyone's, for a trusted caller)."""
        name, version = parse_ref(ref)
        found = self.evals.dataset(name, version, owner=user)
        if found is None:
            raise BadRequestError(f"There is no dataset {ref!r}.")
        return Dataset.from_row(found)

    def dataset_by_id(self, dataset_id: int, *, as_user: str | None = None) -> Dataset:
        found = self.evals.dataset_by_id(dataset_id, as_user=as_user)
        if found is None:
            raise BadRequestError(f"There is no dataset {dataset_id} you can open.")
        return Dataset.from_row(found)

    # -- access and share links -----------------------------------------------------

    def run(self, run_id: str, *, as_user: str | None = None) -> dict[str, Any]:
        """The run, if ``as_user`` may open it (theirs, or they are an admin)."""
        run = self.evals.run(run_id, as_user=as_user)
        if run is None:
            raise BadRequestError(f"There is no run {run_id!r} you can open; ask its owner for "
                                  "a share link.")
        return run

    def share(self, run_id: str, *, user: str, as_user: str | None = None) -> str:
        """A read-only link token for the run (``/evals?share=<token>``), shown once; only the
        run's owner or an admin makes one."""
        return self.evals.create_share(run_id, created_by=user, as_user=as_user)

    def shared_run(self, token: str) -> str | None:
        """The run id a share token opens (None: no such link, or sharing stopped)."""
        return self.evals.shared_run(token)

    def stop_sharing(self, run_id: str, *, as_user: str | None = None) -> int:
        """Remove the run's links (owner or admin); how many there were."""
        return self.evals.stop_sharing(run_id, as_user=as_user)

    # -- results, votes, decisions --------------------------------------------------

    def report(self, run_id: str, *, as_user: str | None = None) -> dict[str, Any]:
        """The run, its template and dataset refs, progress, per-model totals, the matrix
        (``as_user``: only of a run they may open)."""
        run = self.run(run_id, as_user=as_user)
        template = PromptTemplate.from_row(self.evals.template_by_id(run["template_id"]))
        dataset = Dataset.from_row(self.evals.dataset_by_id(run["dataset_id"]))
        labels = [m["label"] for m in run["models"]]
        results = self.evals.results(run_id)
        totals = summarize(results, labels, self.evals.row_votes(run_id), len(dataset.rows))
        return {"run": {**run, "template": template.ref, "dataset": dataset.ref,
                        "rows": len(dataset.rows), "total": len(dataset.rows) * len(labels)},
                "progress": self.evals.progress(run_id), "totals": totals, "results": results,
                "matrix": matrix(results, dataset.rows, labels), "dataset": dataset}

    def progress(self, run_id: str, *, as_user: str | None = None) -> dict[str, Any]:
        """What a progress bar shows: ``answered`` of ``total`` pairs, ``cost`` so far (answers
        and judge), the run's ``status`` and ``note``. Cheap: no answer or row is read."""
        run = self.run(run_id, as_user=as_user)
        done = self.evals.progress(run_id)
        total = self.evals.dataset_size(run["dataset_id"]) * len(run["models"])
        return {"answered": done["answered"], "total": total,
                "cost": done["cost"] + done["judge_cost"], "status": run["status"],
                "note": run["note"]}

    def vote(self, run_id: str, row_index: int, user: str, models: list[str],
             winner: str | None, *, as_user: str | None = None) -> None:
        """``user``'s blind vote on one row between two of the run's models (a run
        ``as_user`` may open)."""
        run = self.run(run_id, as_user=as_user)
        labels = [m["label"] for m in run["models"]]
        if len(set(models)) != 2 or not set(models) <= set(labels):
            raise BadRequestError("A vote compares two of the run's models.")
        if winner not in (*models, "tie", None):
            raise BadRequestError("The winner must be one of the two models, 'tie' or none.")
        self.evals.record_row_vote(run_id, row_index, user, list(models), winner)

    def decide(self, run_id: str, label: str, *, user: str, everyone: bool, is_admin: bool,
               service_type: str | None = None) -> dict[str, Any]:
        """Use the run's model ``label`` for the service type (the run's, unless given): for
        everyone (admins only) or for ``user``. Recorded with the run id."""
        from core.routing import preferences

        run = self.run(run_id, as_user=None if is_admin else user)
        chosen = next((m for m in run["models"] if m["label"] == label), None)
        if chosen is None:
            raise BadRequestError(f"{label!r} is not one of the run's models.")
        service = service_type or run["service_type"]
        if everyone and not is_admin:
            raise BadRequestError("Only an admin can set a model for everyone; set it for yourself.")
        owner = preferences.EVERYONE if everyone else user
        preferences.check(self.service.catalog, user, chosen["model"], service)
        self.service.store.set_preference(owner, chosen["model"], service)
        self.evals.record_decision(run_id, owner, service, chosen["model"], user)
        if isinstance(self.service.preferences, PreferenceBook):
            self.service.preferences.forget(owner)
        return {"service_type": service, "model": chosen["model"], "for": owner, "run_id": run_id}
