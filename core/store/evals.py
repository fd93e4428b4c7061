"""The evaluation tables (SQLite migration ``m007_evals``; Postgres
``20251130000100_parley_evals.sql``): templates, datasets, runs, results, row votes and
decisions. Reached through ``SqliteStore.evals()`` or ``PostgresStore.evals()``, sharing the
store's connections; the SQL is the same for both but for placeholders and JSON access.

Versions are assigned inside the write transaction (SQLite: ``BEGIN IMMEDIATE``; Postgres:
the ``(name, version)`` key refuses a duplicate), so two saves of the same name at once never
share a version. A result is written once per
(run, row, model): ``save_result`` ignores a second write and says so, which is what keeps a
resumed run from storing a row twice.

Ownership (DESIGN "Ownership"): a template name belongs to the user who saved its first
version (``owner``): only they or an admin add a version. A dataset name is each user's own.
Runs, their results and votes belong to the run's creator. Reads that take ``as_user`` give
that user only what is theirs (admins, listed in ``parley_admins``, and ``as_user=None``, a
trusted caller such as the CLI or the runner: everything); others reach a run through a share
link (``core/store/eval_access.py``, with votes and decisions).
"""
from __future__ import annotations

import contextlib
import decimal
import hashlib
import json
from typing import Any, Callable, ContextManager, Iterable, Iterator

from core.errors import BadRequestError
from core.store.eval_access import EvalAccess, iso as _iso, json_value as _json, now as _now, visible

__all__ = ["EvalStore", "RESULT_FIELDS", "TEMPLATE_FIELDS", "digest_of"]

RESULT_FIELDS = ("run_id", "row_index", "model", "created_at", "status", "answer", "call_id",
                 "served_by", "cost", "input_tokens", "output_tokens", "response_time_ms",
                 "error", "checks", "passed", "judge_score", "judge_reason", "judge_call_id",
                 "judge_cost")
_RUN_FIELDS = ("id", "created_at", "updated_at", "created_by", "template_id", "dataset_id",
               "service_type", "models", "judge", "checks", "concurrency", "estimate", "status",
               "note")
_JSON_RUN = ("models", "judge", "checks")


def digest_of(columns, rows) -> str:
    """A content hash: the same columns and rows give the same digest (no new version)."""
    text = json.dumps([list(columns), list(rows)], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EvalStore(EvalAccess):
    """Evaluation data in a store; ``reading``/``writing`` are the store's own context
    managers yielding something with ``execute(sql, params) -> cursor`` (a SQLite connection
    under the store's lock; a psycopg cursor in a transaction). ``dialect``: sqlite | postgres."""

    def __init__(self, reading: Callable[[], ContextManager], writing: Callable[[], ContextManager],
                 dialect: str = "sqlite"):
        self.backend = dialect
        self._read, self._write = reading, writing

    @contextlib.contextmanager
    def _reading(self) -> Iterator["_Conn"]:
        with self._read() as conn:
            yield _Conn(conn, self.backend)

    @contextlib.contextmanager
    def _writing(self) -> Iterator["_Conn"]:
        with self._write() as conn:
            yield _Conn(conn, self.backend)

    # -- templates ------------------------------------------------------------------

    def save_template(self, template: dict[str, Any], *, admin: bool = False) -> dict[str, Any]:
        """Store ``template`` (``TEMPLATE_FIELDS`` but id, version, owner, created_at) as the next
        version of its name; return the stored row. The name's first saver owns it: anyone else
        (``created_by``) is refused with ``BadRequestError`` naming the owner, unless an admin
        (``admin``, or listed in ``parley_admins``). Nothing is stored when refused."""
        author = template["created_by"]
        with self._writing() as conn:
            version, owner = conn.execute(
                "SELECT coalesce(max(version), 0) + 1, min(owner) FROM prompt_templates "
                "WHERE name = ?", (template["name"],)).fetchone()
            owner = owner or author
            if owner != author and not admin and not self._is_admin(conn, author):
                raise BadRequestError(f"Template {template['name']!r} belongs to {owner}; only "
                                      "they or an admin can add a version, so save yours under "
                                      "another name.")
            created = _now()
            template_id = conn.execute(
                "INSERT INTO prompt_templates (name, version, service_type, system, template, "
                "variables, settings, created_by, created_at, owner) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (template["name"], version, template.get("service_type"), template.get("system"),
                 template["template"], json.dumps(list(template.get("variables") or ())),
                 json.dumps(template.get("settings") or {}), author, created,
                 owner)).fetchone()[0]
        return {**template, "id": template_id, "version": version, "owner": owner,
                "created_at": created}

    def template_owner(self, name: str) -> str | None:
        """Who owns the template ``name`` (None: there is none)."""
        with self._reading() as conn:
            return conn.execute("SELECT min(owner) FROM prompt_templates WHERE name = ?",
                                (name,)).fetchone()[0]

    def template(self, name: str, version: int | None = None, *,
                 as_user: str | None = None) -> dict[str, Any] | None:
        """That version of ``name`` (None: the latest), or None if there is none (or it is not
        ``as_user``'s to read). This is the lookup a call by template name makes."""
        with self._reading() as conn:
            where, params = visible(conn, "owner", as_user)
            sql = (f"SELECT {_TEMPLATE_COLUMNS} FROM prompt_templates WHERE name = ? AND {where} "
                   + ("AND version = ?" if version else "ORDER BY version DESC LIMIT 1"))
            row = conn.execute(sql, (name, *params, *((version,) if version else ()))).fetchone()
        return _template(row) if row else None

    def template_by_id(self, template_id: int) -> dict[str, Any] | None:
        """A template version by id, for a trusted caller (a run already opened)."""
        with self._reading() as conn:
            row = conn.execute(f"SELECT {_TEMPLATE_COLUMNS} FROM prompt_templates WHERE id = ?",
                               (template_id,)).fetchone()
        return _template(row) if row else None

    def templates(self, *, as_user: str | None = None) -> list[dict[str, Any]]:
        """The latest version of each template (``as_user``: of theirs), with how many
        versions it has, by name."""
        with self._reading() as conn:
            where, params = visible(conn, "owner", as_user)
            rows = conn.execute(f"""
                SELECT {_TEMPLATE_COLUMNS}, (SELECT count(*) FROM prompt_templates o
                                             WHERE o.name = t.name)
                FROM prompt_templates t
                WHERE version = (SELECT max(version) FROM prompt_templates o WHERE o.name = t.name)
                  AND {where}
                ORDER BY name""", params).fetchall()
        return [{**_template(row[:-1]), "ref": f"{row[0]}@{row[1]}", "versions": row[-1]}
                for row in rows]

    # -- datasets -------------------------------------------------------------------

    def save_dataset(self, name: str, columns: Iterable[str], rows: list[dict[str, Any]], *,
                     created_by: str, source: str = "upload") -> dict[str, Any]:
        """Store the rows as the next version of ``created_by``'s dataset ``name`` (each user
        names their own), unless its latest version holds the same columns and rows: then that
        version is returned and nothing is written."""
        columns = tuple(columns)
        digest = digest_of(columns, rows)
        with self._writing() as conn:
            latest = conn.execute("SELECT id, version, digest FROM datasets WHERE name = ? "
                                  "AND created_by = ? ORDER BY version DESC LIMIT 1",
                                  (name, created_by)).fetchone()
            if latest and latest[2] == digest:
                dataset_id = latest[0]
            else:
                version = (latest[1] if latest else 0) + 1
                dataset_id = conn.execute(
                    "INSERT INTO datasets (name, version, columns, rows, row_count, digest, "
                    "source, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                    (name, version, json.dumps(list(columns)),
                     json.dumps(rows, ensure_ascii=False, default=str), len(rows), digest,
                     source, created_by, _now())).fetchone()[0]
        return self.dataset_by_id(dataset_id)

    def dataset(self, name: str, version: int | None = None, *,
                owner: str | None = None) -> dict[str, Any] | None:
        """That version of ``owner``'s dataset ``name`` (None: the latest; ``owner`` None: a
        trusted caller's lookup among everyone's, the newest first), or None."""
        sql = (f"SELECT {_DATASET_COLUMNS} FROM datasets WHERE name = ? "
               "AND (? IS NULL OR created_by = ?) "
               + ("AND version = ? " if version else "") + "ORDER BY version DESC, id DESC LIMIT 1")
        params = (name, owner, owner, *((version,) if version else ()))
        with self._reading() as conn:
            row = conn.execute(sql, params).fetchone()
        return _dataset(row) if row else None

    def dataset_size(self, dataset_id: int) -> int:
        """How many rows the dataset version holds (without reading them)."""
        with self._reading() as conn:
            row = conn.execute("SELECT row_count FROM datasets WHERE id = ?", (dataset_id,)).fetchone()
        return row[0] if row else 0

    def dataset_by_id(self, dataset_id: int, *, as_user: str | None = None) -> dict[str, Any] | None:
        """A dataset version by id; None if there is none or it is not ``as_user``'s."""
        with self._reading() as conn:
            where, params = visible(conn, "created_by", as_user)
            row = conn.execute(f"SELECT {_DATASET_COLUMNS} FROM datasets WHERE id = ? AND {where}",
                               (dataset_id, *params)).fetchone()
        return _dataset(row) if row else None

    def datasets(self, *, as_user: str | None = None) -> list[dict[str, Any]]:
        """Every dataset version's summary (no rows; ``as_user``: theirs only), newest first."""
        with self._reading() as conn:
            where, params = visible(conn, "created_by", as_user)
            rows = conn.execute("SELECT id, name, version, columns, row_count, source, created_by, "
                                f"created_at FROM datasets WHERE {where} "
                                "ORDER BY created_at DESC, id DESC", params).fetchall()
        return [{"id": r[0], "name": r[1], "version": r[2], "ref": f"{r[1]}@{r[2]}",
                 "columns": _json(r[3]), "rows": r[4], "source": r[5], "created_by": r[6],
                 "created_at": _iso(r[7])} for r in rows]

    # -- runs -----------------------------------------------------------------------

    def create_run(self, run: dict[str, Any]) -> None:
        """Insert a run (``_RUN_FIELDS``; JSON fields as Python values)."""
        row = {key: run.get(key) for key in _RUN_FIELDS}
        row["created_at"] = row["updated_at"] = row["created_at"] or _now()
        for key in _JSON_RUN:
            row[key] = None if row[key] is None else json.dumps(row[key])
        with self._writing() as conn:
            conn.execute(f"INSERT INTO eval_runs ({', '.join(row)}) "
                         f"VALUES ({', '.join('?' * len(row))})", list(row.values()))

    def run(self, run_id: str, *, as_user: str | None = None) -> dict[str, Any] | None:
        """The run; None if there is none or it is not ``as_user``'s (admins: anyone's)."""
        with self._reading() as conn:
            where, params = visible(conn, "created_by", as_user)
            row = conn.execute(f"SELECT {', '.join(_RUN_FIELDS)} FROM eval_runs "
                               f"WHERE id = ? AND {where}", (run_id, *params)).fetchone()
        return _run(row) if row else None

    def runs(self, *, limit: int = 50, as_user: str | None = None) -> list[dict[str, Any]]:
        """Recent runs (``as_user``: theirs only, unless an admin), newest first, each with
        ``answered`` (results stored so far)."""
        with self._reading() as conn:
            where, params = visible(conn, "created_by", as_user)
            rows = conn.execute(f"""
                SELECT {', '.join(_RUN_FIELDS)},
                       (SELECT count(*) FROM eval_results r WHERE r.run_id = eval_runs.id)
                FROM eval_runs WHERE {where} ORDER BY created_at DESC LIMIT ?""",
                                (*params, limit)).fetchall()
        return [{**_run(row[:-1]), "answered": row[-1]} for row in rows]

    def unfinished_run(self, template_id: int, dataset_id: int, models: list,
                       created_by: str) -> dict[str, Any] | None:
        """The newest run of this user on the same template version, dataset version and
        models that has not finished (interrupted, cancelled or stopped), if any."""
        with self._reading() as conn:
            row = conn.execute(f"""
                SELECT {', '.join(_RUN_FIELDS)} FROM eval_runs
                WHERE template_id = ? AND dataset_id = ? AND models = ? AND created_by = ?
                  AND status != 'done' ORDER BY created_at DESC LIMIT 1""",
                               (template_id, dataset_id, json.dumps(models), created_by)).fetchone()
        return _run(row) if row else None

    def set_run_status(self, run_id: str, status: str, note: str | None = None) -> None:
        with self._writing() as conn:
            conn.execute("UPDATE eval_runs SET status = ?, note = ?, updated_at = ? WHERE id = ?",
                         (status, note, _now(), run_id))

    # -- results --------------------------------------------------------------------

    def save_result(self, result: dict[str, Any]) -> bool:
        """Store one row x model result; False (nothing written) if it was stored before."""
        return self.save_results([result])[0]

    def save_results(self, results: list[dict[str, Any]]) -> list[bool]:
        """Store several results in one transaction (one commit: a group commit for the
        runner's workers); for each, False if it was stored before."""
        rows = [_result_row(result) for result in results]
        if not rows:
            return []
        columns = list(rows[0])
        sql = (f"INSERT INTO eval_results ({', '.join(columns)}) VALUES "
               f"({', '.join('?' * len(columns))}) ON CONFLICT (run_id, row_index, model) DO NOTHING")
        with self._writing() as conn:
            # read each rowcount before the cursor closes (psycopg resets it)
            return [conn.execute(sql, list(row.values())).rowcount == 1 for row in rows]

    def set_judgement(self, run_id: str, row_index: int, model: str, judgement: dict) -> None:
        """Fill a stored result's judge fields (score, reason, call id, cost)."""
        with self._writing() as conn:
            conn.execute("UPDATE eval_results SET judge_score = ?, judge_reason = ?, "
                         "judge_call_id = ?, judge_cost = ? WHERE run_id = ? AND row_index = ? "
                         "AND model = ?", (judgement.get("judge_score"), judgement.get("judge_reason"),
                                           judgement.get("judge_call_id"), judgement.get("judge_cost"),
                                           run_id, row_index, model))

    def results(self, run_id: str) -> list[dict[str, Any]]:
        """Every stored result of the run, by row then model."""
        with self._reading() as conn:
            rows = conn.execute(f"SELECT {', '.join(RESULT_FIELDS)} FROM eval_results "
                                "WHERE run_id = ? ORDER BY row_index, model", (run_id,)).fetchall()
        out = []
        for row in rows:
            item = dict(zip(RESULT_FIELDS, row))
            item["checks"] = _json(item["checks"])
            item["passed"] = None if item["passed"] is None else bool(item["passed"])
            item["created_at"] = _iso(item["created_at"])
            for key in ("cost", "judge_cost"):
                item[key] = _num(item[key])
            out.append(item)
        return out

    def logged_answers(self, run_id: str) -> list[dict[str, Any]]:
        """The run's successful answer calls in the call log (not the judge's): what a run
        killed between recording a call and storing its result can adopt on resume."""
        with self._reading() as conn:
            field = conn.json_field
            rows = conn.execute(f"""
                SELECT {field('eval_row')}, {field('eval_model')}, litellm_call_id, response,
                       total_cost, input_tokens, output_tokens, response_time_ms, model
                FROM request_logs WHERE eval_run_id = ? AND status = 'success'
                  AND {field('eval_role')} IS NULL""", (run_id,)).fetchall()
        names = ("row_index", "model", "call_id", "answer", "cost", "input_tokens",
                 "output_tokens", "response_time_ms", "served_by")
        return [{**dict(zip(names, row)), "row_index": int(row[0]), "cost": _num(row[4])}
                for row in rows]

    def progress(self, run_id: str) -> dict[str, Any]:
        """``answered`` results so far and what they cost (answers and judge, known prices)."""
        with self._reading() as conn:
            answered, cost, judge = conn.execute(
                "SELECT count(*), coalesce(sum(cost), 0), coalesce(sum(judge_cost), 0) "
                "FROM eval_results WHERE run_id = ?", (run_id,)).fetchone()
        return {"answered": answered, "cost": _num(cost), "judge_cost": _num(judge)}


_TEMPLATE_COLUMNS = ("name, version, template, system, service_type, variables, settings, id, "
                     "created_by, created_at, owner")
_DATASET_COLUMNS = "name, columns, rows, version, source, id, created_by, created_at, digest"


def _result_row(result: dict[str, Any]) -> dict[str, Any]:
    row = {key: result.get(key) for key in RESULT_FIELDS}
    row["created_at"] = row["created_at"] or _now()
    row["checks"] = json.dumps(row["checks"] or {})
    row["passed"] = None if row["passed"] is None else bool(row["passed"])
    row["input_tokens"], row["output_tokens"] = row["input_tokens"] or 0, row["output_tokens"] or 0
    return row


class _Conn:
    """A connection (or cursor) taking SQLite's ``?`` placeholders on either backend."""

    def __init__(self, conn, dialect: str):
        self._conn, self._postgres = conn, dialect == "postgres"

    def execute(self, sql: str, params=()):
        return self._conn.execute(sql.replace("?", "%s") if self._postgres else sql, params)

    def json_field(self, key: str) -> str:
        """SQL for ``request_logs.metadata``'s ``key`` as text."""
        return f"metadata ->> '{key}'" if self._postgres else f"json_extract(metadata, '$.{key}')"


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, decimal.Decimal) else value


TEMPLATE_FIELDS = ("name", "version", "template", "system", "service_type", "variables",
                   "settings", "id", "created_by", "created_at", "owner")
_DATASET_FIELDS = ("name", "columns", "rows", "version", "source", "id", "created_by",
                   "created_at", "digest")


def _template(row) -> dict[str, Any]:
    out = dict(zip(TEMPLATE_FIELDS, row))
    out["variables"], out["settings"] = list(_json(out["variables"])), _json(out["settings"])
    out["created_at"] = _iso(out["created_at"])
    return out


def _dataset(row) -> dict[str, Any]:
    out = dict(zip(_DATASET_FIELDS, row))
    out["columns"], out["rows"] = list(_json(out["columns"])), list(_json(out["rows"]))
    out["created_at"] = _iso(out["created_at"])
    return out


def _run(row) -> dict[str, Any]:
    run = dict(zip(_RUN_FIELDS, row))
    for key in _JSON_RUN:
        run[key] = None if run[key] is None else _json(run[key])
    for key in ("created_at", "updated_at"):
        run[key] = _iso(run[key])
    run["estimate"] = _num(run["estimate"])
    return run
