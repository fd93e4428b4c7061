"""``python -m core templates ...`` and ``python -m core eval ...``: versioned prompt
templates and dataset runs across models (``core/evals``).

- ``templates save NAME --template TEXT [--system TEXT] [--service S]``: a new version;
  ``templates list``; ``templates show NAME[@v]``.
- ``eval run --template NAME[@v] --dataset FILE --models a,b[,c,d] [--judge M | --no-judge]
  [--rubric TEXT] [--checks KINDS] [--concurrency N]``: stores the file as a dataset version
  (unchanged content reuses the latest), prints the estimate, runs, and prints per-model
  totals. Configurations instead of (or besides) models: ``--config LABEL=MODEL[,temperature=T]
  [,max_tokens=N]``, repeated; ``--models local,local`` alone runs the bundled model at two
  temperatures (``core/evals/configurations.py``). Without ``--judge`` the bundled model judges
  when it is configured. Run again with the
  same arguments after an interruption (even SIGKILL), it resumes the unfinished run: rows
  already answered are not asked again.
- ``eval show [RUN] [--csv]``: a run's totals, or every result as CSV (no RUN: recent runs). ``eval use RUN MODEL
  [--everyone] [--service S]``: make the run's model the service type's choice.

``--json`` prints ``{"run", "progress", "totals"}`` (``totals``: one object per model with
``core.evals.results.TOTAL_FIELDS``). Bad input: one line on stderr, exit 2, nothing stored.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from core.errors import BadRequestError
from core.pricing import money
from core.identity import local_user

__all__ = ["register"]


def register(commands) -> None:
    """Add ``templates`` and ``eval`` to the CLI's subparsers."""
    templates = commands.add_parser("templates", help="versioned prompt templates")
    actions = templates.add_subparsers(dest="templates_command", required=True, metavar="ACTION")
    save = actions.add_parser("save", help="save a new version of a template")
    save.add_argument("name")
    save.add_argument("--template", required=True, help="the user prompt, with {{variables}}")
    save.add_argument("--system", help="the system prompt (may use {{variables}} too)")
    save.add_argument("--service", help="the service type the template belongs to")
    save.add_argument("--user", default=local_user(), help="default: the local user")
    save.add_argument("--json", action="store_true")
    save.set_defaults(run=run_templates_save)
    listing = actions.add_parser("list", help="each template's latest version")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(run=run_templates_list)
    show = actions.add_parser("show", help="one version of a template (default: the latest)")
    show.add_argument("ref", metavar="NAME[@VERSION]")
    show.add_argument("--json", action="store_true")
    show.set_defaults(run=run_templates_show)
    _register_eval(commands)


def _register_eval(commands) -> None:
    evaluate = commands.add_parser("eval", help="run a template on a dataset across models")
    actions = evaluate.add_subparsers(dest="eval_command", required=True, metavar="ACTION")
    run = actions.add_parser("run", help="run (or resume) a template x dataset x models")
    run.add_argument("--template", required=True, metavar="NAME[@VERSION]")
    run.add_argument("--dataset", required=True, metavar="FILE", help="a .csv or .jsonl file")
    run.add_argument("--models", default="", help="2 to 4 comma-separated model names; a "
                     "model named twice runs at two temperatures (local · t=0.2, local · t=0.9)")
    run.add_argument("--config", dest="configs", action="append", default=[],
                     metavar="LABEL=MODEL[,temperature=T][,max_tokens=N]",
                     help="one configuration (repeat it): e.g. cool=local,temperature=0.2")
    judging = run.add_mutually_exclusive_group()
    judging.add_argument("--judge", help="a configured model that scores each answer "
                         "(default: the bundled local model, when configured)")
    judging.add_argument("--no-judge", action="store_true", help="score with the checks only")
    run.add_argument("--rubric", help="what the judge scores (default: a general rubric)")
    run.add_argument("--checks", default="", help="comma-separated: equals, contains, regex, "
                     "numeric (against the 'expected' column), or a JSON list of checks")
    run.add_argument("--concurrency", type=int, default=4)
    run.add_argument("--user", default=local_user(), help="default: the local user")
    run.add_argument("--json", action="store_true")
    run.set_defaults(run=run_eval_run)
    show = actions.add_parser("show", help="a run's per-model totals (no RUN: recent runs)")
    show.add_argument("run_id", nargs="?", metavar="RUN")
    show.add_argument("--json", action="store_true")
    show.add_argument("--csv", action="store_true", help="every row x model result as CSV")
    show.set_defaults(run=run_eval_show)
    use = actions.add_parser("use", help="use a run's model for its service type")
    use.add_argument("run_id", metavar="RUN")
    use.add_argument("model", help="the run's model (its label)")
    use.add_argument("--everyone", action="store_true", help="for every user (admins)")
    use.add_argument("--service", help="another service type than the template's")
    use.add_argument("--user", default=local_user(), help="default: the local user")
    use.add_argument("--json", action="store_true")
    use.set_defaults(run=run_eval_use)


def _bench(ctx):
    from core.evals.workbench import Workbench

    return Workbench(ctx.service)


def run_templates_save(args, ctx) -> int:
    from core.cli.context import emit

    saved = _bench(ctx).save_template(args.name, args.template, user=args.user,
                                      system=args.system, service_type=args.service)
    emit(saved.to_json(), args.json, lambda t: f"Saved {t['ref']} (variables: "
         f"{', '.join(t['variables']) or 'none'})")
    return 0


def run_templates_list(args, ctx) -> int:
    from core.cli.context import emit

    rows = _bench(ctx).evals.templates()
    emit(rows, args.json, lambda rs: "\n".join(
        f"{r['ref']:<32} {r['service_type'] or '-':<18} {r['versions']} version(s)  "
        f"{', '.join(r['variables'])}" for r in rs) or "No templates yet.")
    return 0


def run_templates_show(args, ctx) -> int:
    from core.cli.context import emit

    found = _bench(ctx).template(args.ref)
    emit(found.to_json(), args.json, lambda t: "\n".join(filter(None, [
        f"{t['ref']}  service: {t['service_type'] or '-'}  by {t['created_by']} at {t['created_at']}",
        f"system:\n{t['system']}" if t["system"] else "", f"template:\n{t['template']}"])))
    return 0


def _checks(text: str) -> list:
    text = (text or "").strip()
    if text.startswith("["):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise BadRequestError(f"--checks is not valid JSON ({exc.msg}).") from None
    return [part.strip() for part in text.split(",") if part.strip()]


def run_eval_run(args, ctx) -> int:
    from core.evals.configurations import parse_config
    from core.evals.scoring import DEFAULT_RUBRIC, JudgeSpec

    path = Path(args.dataset)
    if not path.is_file():
        raise BadRequestError(f"There is no file {args.dataset}.")
    bench = _bench(ctx)
    models = [*(m.strip() for m in args.models.split(",") if m.strip()),
              *(parse_config(text) for text in args.configs)]
    from core.evals.datasets import parse_dataset

    parse_dataset(path.read_bytes(), path.name)  # a bad file stores nothing
    judge_model = None if args.no_judge else args.judge or _bundled_judge(bench, args.rubric)
    judge = JudgeSpec(judge_model, args.rubric or DEFAULT_RUBRIC) if judge_model else None
    dataset = bench.upload_dataset(path.read_bytes(), path.name, user=args.user)
    plan = bench.runner.plan(args.template, dataset, models, user_id=args.user, judge=judge,
                             checks=_checks(args.checks), concurrency=args.concurrency)
    run_id = bench.runner.start(plan)
    already = bench.evals.progress(run_id)["answered"]
    estimate = plan.estimate_text(ctx.service.catalog)
    rows = f"{len(dataset.rows):,} row{'s' if len(dataset.rows) != 1 else ''}"
    print(f"Run {run_id}: {plan.template.ref} x {dataset.ref} ({rows}) x "
          f"{', '.join(c.label for c in plan.contenders)}"
          f"{f'; judged by {judge_model}' if judge_model else ''}; estimated cost {estimate}"
          + (f"; resuming with {already} answers stored" if already else ""), file=sys.stderr)
    outcome = bench.runner.execute_sync(run_id, progress=None if args.json else _progress_line)
    if not args.json:
        print(file=sys.stderr)
    if outcome["note"]:
        print(f"Run {run_id} stopped: {outcome['note']}", file=sys.stderr)
    if ctx.service.recorder is not None:
        ctx.service.recorder.flush(timeout=10)
    _show(bench, run_id, args.json)
    return 0 if outcome["status"] == "done" else 1


def _bundled_judge(bench, rubric: str | None) -> str | None:
    """The bundled model, the judge when none is named; without it, no judge (a rubric given
    with no judge to read it is refused)."""
    try:
        return bench.default_judge()
    except BadRequestError:
        if rubric:
            raise
        print("No judge: the bundled model is not configured; name one with --judge.",
              file=sys.stderr)
        return None


def _progress_line(snapshot: dict) -> None:
    spent = f"{money(snapshot['cost'])} spent" if snapshot["cost"] else "nothing spent"
    print(f"\r{snapshot['answered']}/{snapshot['total']} answered · {spent} so far",
          end="", file=sys.stderr, flush=True)


def run_eval_show(args, ctx) -> int:
    from core.cli.context import emit

    bench = _bench(ctx)
    if args.run_id and args.csv:
        from core.evals.results import to_csv

        report = bench.report(args.run_id)
        sys.stdout.write(to_csv(report["results"], report["dataset"].columns, report["dataset"].rows))
        return 0
    if args.run_id:
        _show(bench, args.run_id, args.json)
        return 0
    runs = bench.evals.runs()
    emit(runs, args.json, lambda rs: "\n".join(
        f"{r['id']}  {r['status']:<9} {r['answered']} answers  {r['created_at'][:19]}  "
        f"{', '.join(m['label'] for m in r['models'])}" for r in rs) or "No runs yet.")
    return 0


def _show(bench, run_id: str, as_json: bool) -> None:
    from core.cli.context import emit

    report = bench.report(run_id)
    data = {"run": report["run"], "progress": report["progress"], "totals": report["totals"]}
    local = {m["label"]: _is_local(bench, m["model"]) for m in report["run"]["models"]}
    emit(data, as_json, lambda d: _totals_table(d, local))


def _is_local(bench, model: str) -> bool:
    try:
        return bench.service.catalog.get(model).is_local
    except BadRequestError:  # no longer configured: its cost is shown as recorded
        return False


def _totals_table(data: dict, local: dict[str, bool]) -> str:
    from core.evals.results import cost_text

    run = data["run"]
    head = (f"Run {run['id']} ({run['status']}): {run['template']} x {run['dataset']}, "
            f"{data['progress']['answered']}/{run['total']} answered")
    rows = [("model", "pass", "judge", "win rate (95%)", "BT", "cost", "per row", "p50",
             "p95", "fail")]
    for t in data["totals"]:
        win = "-" if t["win_rate"] is None else (f"{t['win_rate']:.0%} "
                                                 f"({t['win_low']:.0%}-{t['win_high']:.0%})")
        judge = "not discriminating" if t["judge_discriminates"] is False \
            else _num(t["mean_judge_score"], 1)
        is_local, counts = local.get(t["model"], False), (t["answered"], t["unpriced"])
        rows.append((t["model"], _pct(t["pass_rate"]), judge, win, _num(t["bt_rating"], 0),
                     cost_text(t["cost"], is_local=is_local, answered=counts[0], unpriced=counts[1]),
                     "-" if t["cost_per_row"] is None and not is_local else cost_text(
                         t["cost_per_row"], is_local=is_local, answered=counts[0], unpriced=counts[1]),
                     _ms(t["p50_ms"]), _ms(t["p95_ms"]), str(t["failures"])))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    table = "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)
    note = ("\nThe judge gave every answer the same score, so its scores tell the answers "
            "apart no better than chance; choose a stronger judge (--judge).")
    return head + "\n" + table + (note if any(t["judge_discriminates"] is False
                                               for t in data["totals"]) else "")


def _pct(value) -> str:
    return "-" if value is None else f"{value:.0%}"


def _num(value, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _ms(value) -> str:
    return "-" if value is None else f"{value:,.0f} ms"


def run_eval_use(args, ctx) -> int:
    from core.cli.context import emit

    decided = _bench(ctx).decide(args.run_id, args.model, user=args.user, everyone=args.everyone,
                                 is_admin=True, service_type=args.service)
    emit(decided, args.json, lambda d: f"{d['service_type']} now uses {d['model']} for "
         f"{'everyone' if d['for'] == '*' else d['for']} (run {d['run_id']}).")
    return 0
