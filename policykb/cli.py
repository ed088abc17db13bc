"""The ``policykb`` command line.

Exit codes: 0 success; 1 findings (``kb check``, ``audit``); 2 bad usage or input;
3 broken knowledge base; 70 internal error.  Errors are one clear message on
stderr, never a traceback (set POLICYKB_DEBUG=1 to see one).  Output is built in
full before anything is written, and ``--output`` files are replaced atomically,
so a failed run leaves nothing half-written.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from policykb.errors import InputError, KBError, PolicyKBError

LANGS = ("zh", "en")


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own usage errors: exit 2 with our prefix
        self.print_usage(sys.stderr)
        raise InputError(message)


def write_output(text: str, output: str | None) -> None:
    """Print, or replace ``output`` atomically (temp file + rename)."""
    write_with(output, lambda handle: handle.write(text))


def check_output(output: str | None) -> None:
    """Refuse an --output that cannot be written, before any work is done."""
    if not output or output == "-":
        return
    target = Path(output)
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise InputError(f"--output: folder {directory} does not exist")
    if target.is_dir():
        raise InputError(f"--output: {target} is a folder")
    if target.exists() and not target.is_file():
        raise InputError(f"--output: {target} is not a regular file")
    if not os.access(directory, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise InputError(f"--output: {target} cannot be written")


def write_with(output: str | None, writer) -> None:
    """Let ``writer(handle)`` write to standard output, or to ``output`` atomically (a
    temporary file renamed into place, with the permissions a new file would get)."""
    if not output or output == "-":
        writer(sys.stdout)
        sys.stdout.flush()
        return
    check_output(output)
    target = Path(output)
    directory = target.parent if str(target.parent) else Path(".")
    mode = target.stat().st_mode & 0o777 if target.exists() else 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            writer(handle)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except OSError as exc:
        _unlink(tmp)
        raise InputError(f"--output: cannot write {target}: {exc.strerror}") from None
    except BaseException:
        _unlink(tmp)
        raise


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _kb(args):
    from policykb.api import load

    return load(args.policy, path=args.kb)


def _common(parser: argparse.ArgumentParser, *, lang: bool = False, output: bool = True) -> None:
    group = parser.add_argument_group("knowledge base")
    group.add_argument("--policy", metavar="NAME", help="a policy shipped with policykb (default: taicang-2021-3)")
    group.add_argument("--kb", metavar="PATH", help="a KB folder instead of a shipped policy")
    if lang:
        parser.add_argument("--lang", choices=LANGS, default="zh", help="language of text output (default: zh)")
    if output:
        parser.add_argument("-o", "--output", metavar="FILE", help="write to FILE (atomically) instead of standard output")


# --- kb ------------------------------------------------------------------------------


def cmd_kb_check(args) -> int:
    from policykb.kb.check import check_folder
    from policykb.kb.loader import policy_dir

    folder = policy_dir(args.policy, args.kb)
    if not (folder / "policy.yaml").is_file():
        raise InputError(f"{folder} is not a knowledge-base folder (it has no policy.yaml)")
    policy, problems = check_folder(folder)
    if problems:
        lines = [str(p) for p in problems]
        lines.append(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in {folder}")
        write_output("\n".join(lines) + "\n", args.output)
        return 1
    summary = (
        f"{policy.id} ({policy.document_number}): {len(policy.items)} items in {len(policy.measures)} measures, "
        f"{len(policy.relations)} relations, {len(policy.provisions)} provisions, {len(policy.readings)} readings, "
        f"{len(policy.targets)} targets, {len(policy.glossary)} terms — clean\nkb_version {policy.version}\n"
    )
    write_output(summary, args.output)
    return 0


def cmd_kb_list(args) -> int:
    from policykb.views import items_json, items_text

    kb = _kb(args)
    text = items_json(kb.policy) if args.format == "json" else items_text(kb.policy, args.lang)
    write_output(text, args.output)
    return 0


def cmd_kb_graph(args) -> int:
    from policykb.kb import graph as g

    kb = _kb(args)
    readings = kb.readings_with(_parse_readings(args.reading)) if args.reading else None
    graph = kb.graph(readings)
    if args.format == "json":
        text = g.to_json(graph, kb.policy)
    elif args.format == "dot":
        text = g.to_dot(graph, args.lang)
    else:
        text = g.to_mermaid(graph, args.lang)
    write_output(text, args.output)
    return 0


def cmd_schema(args) -> int:
    from policykb.views import json_text

    kb = _kb(args)
    write_output(json_text(kb.schema()), args.output)
    return 0


def cmd_evaluate(args) -> int:
    kb = _kb(args)
    decision = kb.evaluate(args.file, _parse_readings(args.reading))
    text = decision.to_json() if args.format == "json" else decision.to_text(args.lang)
    write_output(text, args.output)
    return 0


def cmd_bench(args) -> int:
    from policykb import bench

    if args.applications < 1 or args.workers < 1:
        raise InputError("--applications and --workers must be at least 1")
    kb = _kb(args)
    if args.http:
        from policykb.service.bench import run_http

        if args.audit or args.reading:
            raise InputError("bench --http measures POST /v1/evaluate with the default readings; it takes neither --audit nor --reading")
        if args.concurrency < 1:
            raise InputError("--concurrency must be at least 1")
        result = run_http(kb, applications=args.applications, workers=args.workers, seed=args.seed, concurrency=args.concurrency)
    elif args.audit:
        result = bench.run_audit(kb, records=args.applications, workers=args.workers, seed=args.seed,
                                 readings=_parse_readings(args.reading))
    else:
        result = bench.run(kb, applications=args.applications, workers=args.workers, seed=args.seed,
                           readings=_parse_readings(args.reading))
    write_output(bench.to_json(result) if args.format == "json" else bench.to_text(result), args.output)
    return 0


def cmd_why(args) -> int:
    from policykb.explain.why import explain

    kb = _kb(args)
    decision = kb.evaluate(args.file, _parse_readings(args.reading))
    explanations = explain(decision, args.item, args.subject)
    from policykb.views import explanations_json, explanations_text

    text = explanations_json(explanations) if args.format == "json" else explanations_text(explanations, args.lang)
    write_output(text, args.output)
    return 0


def _document(args):
    from policykb.engine.documents import read_document

    return read_document(args.file)


def _source(args) -> str:
    return Path(args.file).name


def _emit_lines(args, result) -> None:
    from policykb.views import json_text

    text = json_text(result.to_dict()) if args.format == "json" else result.to_text(args.lang)
    write_output(text, args.output)


def cmd_whatif(args) -> int:
    from policykb.explain.whatif import whatif

    if not (args.set or args.add or args.remove or args.reading):
        raise InputError("whatif needs at least one --set PATH=VALUE, --add FACT, --remove FACT or --reading ID=OPTION")
    kb = _kb(args)
    result = whatif(kb, _document(args), sets=args.set or [], adds=args.add or [], removes=args.remove or [],
                    readings=_parse_readings(args.reading), source=_source(args))
    _emit_lines(args, result)
    return 0


def cmd_qualify(args) -> int:
    from policykb.explain.qualify import qualify

    kb = _kb(args)
    _emit_lines(args, qualify(kb, _document(args), args.item, args.subject, _parse_readings(args.reading), source=_source(args)))
    return 0


def cmd_readings(args) -> int:
    from policykb.explain import sensitivity

    kb = _kb(args)
    _emit_lines(args, sensitivity.answer(kb, _document(args), _parse_readings(args.reading), source=_source(args)))
    return 0


def cmd_runners_up(args) -> int:
    from policykb.explain import runners

    kb = _kb(args)
    decision = kb.evaluate(args.file, _parse_readings(args.reading))
    _emit_lines(args, runners.answer(decision))
    return 0


def cmd_audit(args) -> int:
    from policykb.audit import report
    from policykb.audit.records import open_input
    from policykb.audit.run import audit_groups

    if args.workers < 1:
        raise InputError("--workers must be at least 1")
    kb = _kb(args)
    readings = kb.readings_with(_parse_readings(args.reading))
    source = open_input(args.file, args.awards)
    spool = report.Spool()
    try:
        progress = False if args.no_progress else None
        for finding in audit_groups(kb, source, readings, workers=args.workers, progress=progress):
            spool.add(finding)
        summary = spool.summary(source.records, source.applicants)
        origin = {"file": str(args.file), "awards": str(args.awards) if args.awards else None}
        writers = {
            "json": lambda h: report.write_json(h, kb, readings, summary, spool, origin),
            "text": lambda h: report.write_text(h, kb, readings, summary, spool, args.lang),
            "md": lambda h: report.write_markdown(h, kb, readings, summary, spool, args.lang),
            "html": lambda h: report.write_html(h, kb, readings, summary, spool, args.lang),
        }
        write_with(args.output, writers[args.format])
        return 1 if spool.count else 0
    finally:
        spool.close()


def cmd_serve(args) -> int:
    from policykb.service.config import ServiceConfig
    from policykb.service.server import checked, run

    config = ServiceConfig(policy=args.policy, kb=args.kb, host=args.host, port=args.port, workers=args.workers,
                           decision_log=args.decision_log, max_body=args.max_body, timeout=args.timeout,
                           access_log=not args.no_access_log)
    return run(checked(config, args.token_file))


def _add_serve(sub) -> None:
    """``policykb serve``: the HTTP service (docs/service.md)."""
    from policykb.service.config import DEFAULT_MAX_BODY, DEFAULT_TIMEOUT

    p = sub.add_parser("serve", help="run the HTTP service: /v1 routes, OpenAPI at /openapi.json, docs at /docs")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1; any other needs --token-file)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--workers", type=int, default=1, metavar="N", help="worker processes (default 1; at most the CPU count)")
    _common(p, output=False)
    p.add_argument("--token-file", metavar="FILE", help="require 'Authorization: Bearer <the token in FILE>' on every route but /healthz and /readyz")
    p.add_argument("--decision-log", metavar="FILE", help="append one JSON line per decision to FILE (reopened on SIGHUP)")
    p.add_argument("--max-body", type=int, default=DEFAULT_MAX_BODY, metavar="BYTES", help=f"largest request body (default {DEFAULT_MAX_BODY})")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS", help=f"per-request time limit (default {DEFAULT_TIMEOUT:g})")
    p.add_argument("--no-access-log", action="store_true", help="no access-log line per request on standard error")
    p.set_defaults(func=cmd_serve)


def _parse_readings(values) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in values or []:
        rid, sep, option = value.partition("=")
        if not sep or not rid or not option:
            raise InputError(f"--reading expects ID=OPTION (for example I-06=per_station); found '{value}'")
        rid = rid.strip()
        if rid in out and out[rid] != option.strip():
            raise InputError(f"--reading {rid} is given twice ({out[rid]} and {option.strip()})")
        out[rid] = option.strip()
    return out


# --- the parser -------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="policykb",
        description="Industrial-subsidy policy as rules: who qualifies for what, how much, and why.",
        epilog="Exit codes: 0 ok, 1 findings, 2 usage or input error, 3 broken knowledge base, 70 internal error.",
    )
    from policykb import __version__

    parser.add_argument("--version", action="version", version=f"policykb {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    kb = sub.add_parser("kb", help="inspect and check the knowledge base")
    parser._kb_parser = kb
    kb_sub = kb.add_subparsers(dest="kb_command", metavar="KB_COMMAND", parser_class=_Parser)
    p = kb_sub.add_parser("check", help="verify the KB: items, quotes, references, engine limits (exit 1 on findings)")
    _common(p)
    p.set_defaults(func=cmd_kb_check)
    p = kb_sub.add_parser("list", help="list the benefit items")
    _common(p, lang=True)
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=cmd_kb_list)
    p = kb_sub.add_parser("graph", help="export the relation graph")
    _common(p, lang=True)
    p.add_argument("--format", choices=("dot", "mermaid", "json"), default="json")
    p.add_argument("--reading", action="append", metavar="ID=OPTION", help="only the edges that hold under these readings")
    p.set_defaults(func=cmd_kb_graph)

    def on_application(name: str, help: str, func, *, item: bool = False, reading_help: str | None = None):
        """A command that reads one application: FILE [ITEM] [--subject] --format --lang --reading."""
        p = sub.add_parser(name, help=help)
        p.add_argument("file", help="application (JSON or YAML)")
        if item:
            p.add_argument("item", help="item ID, e.g. m01.equipment")
            p.add_argument("--subject", help="the subject, when the item has outcomes for several")
        _common(p, lang=True)
        p.add_argument("--format", choices=("text", "json"), default="text")
        p.add_argument("--reading", action="append", metavar="ID=OPTION", help=reading_help or "switch a reading, e.g. I-06=per_station (repeatable)")
        p.set_defaults(func=func)
        return p

    on_application("evaluate", "evaluate an application: who qualifies for what, and how much", cmd_evaluate)
    on_application("why", "why (or why not): one item's outcome, cited to the policy text", cmd_why, item=True)
    p = on_application("whatif", "evaluate a changed application and show what changes, and why", cmd_whatif,
                       reading_help="switch a reading in the changed evaluation")
    p.add_argument("--set", action="append", metavar="PATH=VALUE",
                   help="change a value: year, applicant.FIELD, facts[N].FIELD or facts[SUBJECT].FIELD (value as JSON; null removes)")
    p.add_argument("--add", action="append", metavar="FACT", help="add a fact given as a JSON object")
    p.add_argument("--remove", action="append", metavar="FACT", help="remove a fact: facts[N] or facts[SUBJECT]")
    on_application("qualify", "how an item could qualify: the smallest changes, each verified", cmd_qualify, item=True)
    on_application("readings", "which readings of ambiguous sentences change this application's outcome", cmd_readings,
                   reading_help="the readings to start from")
    on_application("runners-up", "items suppressed by take-the-highest or mutual exclusion, and what they would have paid", cmd_runners_up)

    p = sub.add_parser("audit", help="hold the awards actually granted against the rules (exit 1 on findings)")
    p.add_argument("file", help="records as JSON Lines or a JSON array; with --awards, the applications as JSON Lines")
    p.add_argument("--awards", metavar="CSV", help="granted awards as CSV: applicant_id, year, item, subject, amount, decision_id")
    _common(p, lang=True)
    p.add_argument("--format", choices=("json", "text", "md", "html"), default="text")
    p.add_argument("--workers", type=int, default=1, metavar="N", help="processes (default 1)")
    p.add_argument("--reading", action="append", metavar="ID=OPTION")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on standard error")
    p.set_defaults(func=cmd_audit)

    p = sub.add_parser("bench", help="benchmark the pipeline on seeded synthetic applications")
    _common(p)
    p.add_argument("--applications", type=int, default=2000, metavar="N", help="how many applications (default 2000)")
    p.add_argument("--workers", type=int, default=2, metavar="W", help="processes for the throughput run (default 2)")
    p.add_argument("--seed", type=int, default=2021, help="seed of the synthetic applications (default 2021)")
    p.add_argument("--reading", action="append", metavar="ID=OPTION")
    p.add_argument("--audit", action="store_true", help="benchmark the audit instead: N synthetic records, records/s")
    p.add_argument("--http", action="store_true",
                   help="benchmark policykb serve instead: POST /v1/evaluate p50/p99 at concurrency 1, requests/s at --concurrency")
    p.add_argument("--concurrency", type=int, default=16, metavar="C", help="connections for the --http throughput run (default 16)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("schema", help="print the JSON Schema of an application")
    _common(p)
    p.set_defaults(func=cmd_schema)

    _add_serve(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    debug = os.environ.get("POLICYKB_DEBUG") == "1"
    try:
        parser = build_parser()
        kb_parser = parser._kb_parser
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            (kb_parser if getattr(args, "command", None) == "kb" else parser).print_help(sys.stderr)
            return 2
        check_output(getattr(args, "output", None))
        from policykb.money import exact

        with exact():
            return int(args.func(args) or 0)
    except PolicyKBError as exc:
        if debug:
            raise
        prefix = "policykb: broken knowledge base:\n" if isinstance(exc, KBError) else "policykb: error: "
        sys.stderr.write(f"{prefix}{exc}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("policykb: interrupted\n")
        return 130
    except BrokenPipeError:
        # the reader went away (| head); nothing more to say
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0
    except Exception as exc:  # an unexpected failure is our bug: say so plainly
        if debug:
            raise
        sys.stderr.write(
            f"policykb: internal error: {type(exc).__name__}: {exc}\n"
            "This is a bug in policykb; run with POLICYKB_DEBUG=1 for the traceback and report it.\n"
        )
        return 70


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
