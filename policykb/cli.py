"""The ``policykb`` command line.

Exit codes: 0 success; 1 findings (``kb check``, ``audit``); 2 bad usage or input;
3 broken knowledge base; 70 internal error.  Errors are one clear message on
stderr, never a traceback (set POLICYKB_DEBUG=1 to see one).  Output is built in
full before anything is written, and ``--output`` files are replaced atomically,
so a failed run leaves nothing half-written.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import tempfile
from pathlib import Path

from policykb import __version__, helpdocs, reports
from policykb.api import load
from policykb.engine.documents import STDIN, display_name, parse_text, read_document
from policykb.errors import InputError, KBError, PolicyKBError
from policykb.kb import graph as g
from policykb.kb.check import check_folder
from policykb.kb.loader import policy_dir
from policykb.kb.messages import messages
from policykb.limits import MAX_SUBJECTS_UNNAMED, MAX_WORKERS_ASKED, cpu_count
from policykb.money import exact
from policykb.numbers import NumberError, read_whole
from policykb.safetext import json_safe, visible, visible_line
from policykb.service.config import DEFAULT_MAX_BODY, DEFAULT_TIMEOUT, ServiceConfig
from policykb.views import explanations_json, explanations_text, items_json, items_text, json_text

LANGS = ("zh", "en")


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own usage errors: exit 2 with our prefix
        self.print_usage(sys.stderr)
        raise InputError(message)


def write_output(text: str, output: str | None, *, kind: str = "text") -> None:
    """Print, or replace ``output`` atomically (temp file + rename); control characters
    neutralised (``kind`` "text": made visible; "json": written as \\u escapes)."""
    write_with(output, lambda handle: handle.write(json_safe(text) if kind == "json" else visible(text)))


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
    with contextlib.suppress(OSError):
        os.unlink(path)


def _kb(args):
    return load(args.policy, path=args.kb)


def _workers(text: str) -> int:
    """``--workers``: a whole number from 1; above the CPUs this process may use it is capped
    (more processes than CPUs only add start-up and memory), absurd values are refused."""
    try:
        asked = read_whole(text, "a number of worker processes", 1, MAX_WORKERS_ASKED)
    except NumberError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return min(asked, cpu_count())


def _whole(low: int, high: int, what: str):
    def parse(text: str) -> int:
        try:
            return read_whole(text, what, low, high)
        except NumberError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parse.__name__ = what
    return parse


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
    folder = policy_dir(args.policy, args.kb)
    if not (folder / "policy.yaml").is_file():
        raise InputError(f"{folder} is not a knowledge-base folder (it has no policy.yaml)")
    policy, problems = check_folder(folder)
    m, lang = messages(), args.lang
    if problems:
        # each problem names a file, a key and what is wrong with it, for the KB's author
        lines = [str(p) for p in problems]
        lines.append(m.say("check_problems", lang, count=len(problems), folder=folder))
        write_output("\n".join(lines) + "\n", args.output)
        return 1
    assert policy is not None  # no problems: the policy loaded
    summary = m.say(
        "check_clean",
        lang,
        policy=policy.id,
        document=policy.document_number,
        items=len(policy.items),
        measures=len(policy.measures),
        relations=len(policy.relations),
        provisions=len(policy.provisions),
        readings=len(policy.readings),
        targets=len(policy.targets),
        terms=len(policy.glossary),
    )
    write_output(f"{summary}\n{m.say('check_version', lang, version=policy.version)}\n", args.output)
    return 0


def cmd_kb_list(args) -> int:
    kb = _kb(args)
    text = items_json(kb.policy) if args.format == "json" else items_text(kb.policy, args.lang)
    write_output(text, args.output, kind=args.format)
    return 0


def cmd_kb_graph(args) -> int:
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
    kb = _kb(args)
    write_output(json_text(kb.schema()), args.output, kind="json")
    return 0


def _columns(args) -> int | None:
    """The width to fit a table to: the terminal's (or $COLUMNS), never when writing a file."""
    if getattr(args, "wide", False) or (args.output and args.output != "-"):
        return None
    if os.environ.get("COLUMNS") or sys.stdout.isatty():
        return shutil.get_terminal_size().columns
    return None


def cmd_evaluate(args) -> int:
    kb = _kb(args)
    readings = kb.readings_with(_parse_readings(args.reading))
    if args.file.count(reports.STDIN) > 1:
        raise InputError("standard input (-) can be read only once")
    if len(args.file) > 1 and (args.format == "dot" or args.trace):
        raise InputError("--format dot and --trace describe one evaluation: give one application")
    stdin = reports.read_stdin() if reports.STDIN in args.file else None
    single = len(args.file) == 1 and not reports.is_json_lines(args.file[0]) and not (stdin and reports.looks_like_json_lines(stdin))
    if single:
        # one application: a bad one is bad input (exit 2), as for every other command
        given = parse_text(stdin, "<stdin>") if stdin is not None else args.file[0]
        decision = kb.evaluate(given, readings, source="<stdin>" if stdin is not None else "")
        entry = reports.Entry(args.file[0], None, decision=decision)
        if args.format == "dot":
            write_output(decision.to_dot(), args.output, kind="dot")
        elif args.format == "json":
            write_output(decision.to_json(include_trace=args.trace), args.output, kind="json")
        else:
            write_with(args.output, lambda out: _write_decisions(out, kb, readings, [entry], args, batch=False))
        return 0
    tally = _Tally()
    entries = _progress(reports.evaluate_entries(kb, args.file, readings, stdin), args, tally)
    write_with(args.output, lambda out: _write_decisions(out, kb, readings, entries, args, batch=True))
    if tally.skipped:
        sys.stderr.write("policykb: " + messages().say("batch_summary", args.lang, done=tally.done, skipped=tally.skipped) + "\n")
        return 1
    return 0


class _Tally:
    done = 0
    skipped = 0


def _progress(entries, args, tally: _Tally):
    """The evaluated entries, with a progress bar on a terminal; each skipped one is
    reported on standard error as it comes, and counted."""
    from tqdm import tqdm  # deferred: ~4 ms of every command's start, for batches only

    bar = tqdm(
        entries, unit="app", file=sys.stderr, mininterval=0.5, dynamic_ncols=True, leave=False, disable=True if args.no_progress else None
    )
    try:
        for entry in bar:
            if entry.error is not None:
                tally.skipped += 1
                bar.write("policykb: " + messages().say("batch_skipped", args.lang, where=entry.where, error=entry.error), file=sys.stderr)
                continue
            tally.done += 1
            yield entry
    finally:
        bar.close()


def _write_decisions(out, kb, readings, entries, args, *, batch: bool) -> None:
    fmt, lang = args.format, args.lang
    if fmt == "csv":
        writer = reports.csv_writer(out)
        for entry in entries:
            writer.writerows(reports.csv_rows(entry, lang))
    elif fmt == "html":
        reports.html_head(out, kb, readings, lang)
        for entry in entries:
            reports.html_decision(out, entry, lang)
        reports.html_readings(out, kb, readings, lang)
        reports.html_tail(out)
    elif fmt == "json":
        for entry in entries:
            out.write(json_safe(reports.json_line(entry)))
    else:
        columns = _columns(args)
        for n, entry in enumerate(entries):
            if batch:
                out.write(("\n" if n else "") + visible_line(messages().say("batch_source", lang, source=entry.where)) + "\n")
            out.write(visible(entry.decision.to_text(lang, columns=columns, wide=args.wide)))


def cmd_bench(args) -> int:
    from policykb import bench  # deferred: psutil, ~15 ms of every command's start

    kb = _kb(args)
    if args.http:
        from policykb.service.bench import run_http  # deferred: the HTTP client and server, for `bench --http` only

        if args.audit or args.reading:
            raise InputError("bench --http measures POST /v1/evaluate with the default readings; it takes neither --audit nor --reading")
        if args.concurrency < 1:
            raise InputError("--concurrency must be at least 1")
        result = run_http(kb, applications=args.applications, workers=args.workers, seed=args.seed, concurrency=args.concurrency)
    elif args.audit:
        result = bench.run_audit(
            kb, records=args.applications, workers=args.workers, seed=args.seed, readings=_parse_readings(args.reading)
        )
    else:
        result = bench.run(kb, applications=args.applications, workers=args.workers, seed=args.seed, readings=_parse_readings(args.reading))
    write_output(bench.to_json(result) if args.format == "json" else bench.to_text(result), args.output, kind=args.format)
    return 0


def _bounded_subjects(decision, item: str, subject: str | None) -> None:
    """Refuse to explain every subject of an item when there are too many: each explanation
    re-evaluates the application, so the work would grow with subjects × facts."""
    if subject is not None:
        return
    subjects = [o.subject for o in decision.outcomes if o.item.id == item]
    if len(subjects) > MAX_SUBJECTS_UNNAMED:
        first = ", ".join(subjects[:5])
        raise InputError(
            f"{item} has {len(subjects):,} subjects in this application, more than the {MAX_SUBJECTS_UNNAMED} explained "
            f"without --subject (each explanation re-evaluates the application); name one with --subject "
            f"(subjects: {first}, …)"
        )


def _decision(args, kb, *, positionals: int):
    """The decision a command explains: a saved one (``--decision FILE``, written by
    ``evaluate --format json --trace``) read back with the KB alone, or the evaluation of
    the application FILE.  ``positionals`` is how many arguments follow FILE (the item)."""
    given = [p for p in (args.file, getattr(args, "item", None)) if p is not None]
    if args.decision is None:
        if len(given) != positionals + 1:
            raise InputError(
                f"{args.command} needs an application FILE" + (" and an ITEM" if positionals else "") + " (or --decision FILE)"
            )
        return kb.evaluate(args.file, _parse_readings(args.reading)), given[1:]
    if args.reading:
        raise InputError("--reading: a saved decision was made under its own readings; evaluate the application again to switch one")
    if len(given) != positionals:
        raise InputError(f"with --decision, {args.command} takes " + ("the ITEM only" if positionals else "no application FILE"))
    return kb.decision_from_dict(read_document(args.decision)), given


def cmd_why(args) -> int:
    # Deferred, as every explain/ and audit/ import in this file: explain/ adds ~30 ms and audit/
    # ~40 ms (multiprocessing, sqlite3) to the start of every command (python -X importtime).
    from policykb.explain.why import explain

    kb = _kb(args)
    decision, (item,) = _decision(args, kb, positionals=1)
    args.item = item
    _bounded_subjects(decision, args.item, args.subject)
    explanations = explain(decision, args.item, args.subject)
    text = explanations_json(explanations) if args.format == "json" else explanations_text(explanations, args.lang)
    write_output(text, args.output, kind=args.format)
    return 0


def _document(args):
    return read_document(args.file)


def _source(args) -> str:
    return display_name(args.file) if args.file == STDIN else Path(args.file).name


def _emit_lines(args, result) -> None:
    text = json_text(result.to_dict()) if args.format == "json" else result.to_text(args.lang)
    write_output(text, args.output, kind=args.format)


def cmd_whatif(args) -> int:
    from policykb.explain.whatif import whatif

    if not (args.set or args.add or args.remove or args.reading):
        raise InputError("whatif needs at least one --set PATH=VALUE, --add FACT, --remove FACT or --reading ID=OPTION")
    kb = _kb(args)
    result = whatif(
        kb,
        _document(args),
        sets=args.set or [],
        adds=args.add or [],
        removes=args.remove or [],
        readings=_parse_readings(args.reading),
        source=_source(args),
    )
    _emit_lines(args, result)
    return 0


def cmd_qualify(args) -> int:
    from policykb.explain.qualify import qualify

    kb = _kb(args)
    document = _document(args)
    if args.subject is None:
        _bounded_subjects(kb.evaluate(document, _parse_readings(args.reading), source=_source(args)), args.item, None)
    _emit_lines(args, qualify(kb, document, args.item, args.subject, _parse_readings(args.reading), source=_source(args)))
    return 0


def cmd_readings(args) -> int:
    from policykb.explain import sensitivity

    kb = _kb(args)
    if args.file is None:
        return _list_readings(kb, args)
    _emit_lines(args, sensitivity.answer(kb, _document(args), _parse_readings(args.reading), source=_source(args)))
    return 0


def _list_readings(kb, args) -> int:
    """Every reading of the KB: its question, the quote it reads, its options, its default."""
    chosen = kb.readings_with(_parse_readings(args.reading))
    rows = []
    for rid, r in kb.policy.readings.items():
        rows.append(
            {
                "id": rid,
                "question": r.question.to_dict(),
                "quote": r.quote,
                "default": r.default,
                "chosen": chosen[rid],
                "options": [{"option": k, "label": v.to_dict()} for k, v in r.options.items()],
                "affects": "all" if r.affects == "all" else list(r.affects),
            }
        )
    if args.format == "json":
        data = {"policy": kb.policy.id, "kb_version": kb.version, "readings": rows}
        write_output(json_text(data), args.output, kind="json")
        return 0
    m, lang = messages(), args.lang
    lines = []
    for row, r in zip(rows, kb.policy.readings.values(), strict=True):
        lines.append(m.say("readings_entry", lang, reading=row["id"], question=r.question(lang)))
        lines.append(m.say("readings_quote", lang, quote=r.quote))
        for option, label in r.options.items():
            marks = [m.say("readings_default", lang)] if option == r.default else []
            if option == row["chosen"] and option != r.default:
                marks.append(m.say("readings_switched", lang))
            mark = "●" if option == row["chosen"] else "○"
            shown = label(lang) + (
                ("（" + "，".join(marks) + "）") if lang == "zh" and marks else (f" ({', '.join(marks)})" if marks else "")
            )
            lines.append(m.say("readings_option", lang, mark=mark, option=option, label=shown))
        affects = m.say("readings_all", lang) if r.affects == "all" else ", ".join(r.affects)
        lines.append(m.say("readings_affects", lang, items=affects))
        lines.append("")
    first = next(iter(kb.policy.readings.values()))
    other = next((o for o in first.options if o != first.default), first.default)
    lines.append(m.say("readings_hint", lang, reading=first.id, option=other))
    write_output("\n".join(lines) + "\n", args.output)
    return 0


def cmd_runners_up(args) -> int:
    from policykb.explain import runners

    kb = _kb(args)
    decision, _ = _decision(args, kb, positionals=0)
    _emit_lines(args, runners.answer(decision))
    return 0


def cmd_audit(args) -> int:
    from policykb.audit import report
    from policykb.audit.records import open_input
    from policykb.audit.run import audit_groups

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
        source.close()


def cmd_help(args) -> int:
    if not args.topic:
        write_output(helpdocs.listing(), args.output)
        return 0
    text = helpdocs.read_topic(args.topic)
    if text is None:  # a topic built from the KB itself
        args.file, args.reading, args.format, args.lang = None, None, "text", getattr(args, "lang", "zh")
        return cmd_readings(args)
    write_output(text if text.endswith("\n") else text + "\n", args.output)
    return 0


def cmd_completion(args) -> int:
    from policykb import completion  # deferred: ~3 ms of every command's start, for `completion` only

    try:  # the KB's item IDs and reading options complete too, when the KB loads
        kb = _kb(args)
    except PolicyKBError:
        kb = None
    write_output(completion.script(args.shell, build_parser(), kb), args.output)
    return 0


def cmd_serve(args) -> int:
    from policykb.service.server import checked, run  # deferred: ~3 ms of every command's start, for `serve` only

    config = ServiceConfig(
        policy=args.policy,
        kb=args.kb,
        host=args.host,
        port=args.port,
        workers=args.workers,
        decision_log=args.decision_log,
        max_body=args.max_body,
        timeout=args.timeout,
        access_log=not args.no_access_log,
    )
    return run(checked(config, args.token_file))


def _add_serve(sub) -> None:
    """``policykb serve``: the HTTP service (docs/service.md)."""
    p = sub.add_parser("serve", help="run the HTTP service: /v1 routes, OpenAPI at /openapi.json, docs at /docs")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1; any other needs --token-file)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--workers", type=int, default=1, metavar="N", help="worker processes (default 1; at most the CPU count)")
    _common(p, output=False)
    p.add_argument(
        "--token-file", metavar="FILE", help="require 'Authorization: Bearer <the token in FILE>' on every route but /healthz and /readyz"
    )
    p.add_argument("--decision-log", metavar="FILE", help="append one JSON line per decision to FILE (reopened on SIGHUP)")
    p.add_argument(
        "--max-body", type=int, default=DEFAULT_MAX_BODY, metavar="BYTES", help=f"largest request body (default {DEFAULT_MAX_BODY})"
    )
    p.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS", help=f"per-request time limit (default {DEFAULT_TIMEOUT:g})"
    )
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


def commands(parser: argparse.ArgumentParser, prefix: str = "") -> dict[str, argparse.ArgumentParser]:
    """Every (sub)command's parser by its name: {"evaluate": …, "kb": …, "kb check": …}."""
    out = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                out[prefix + name] = sub
                out.update(commands(sub, prefix + name + " "))
    return out


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="policykb",
        description="Industrial-subsidy policy as rules: who qualifies for what, how much, and why.",
        epilog="Exit codes: 0 ok, 1 findings, 2 usage or input error, 3 broken knowledge base, 70 internal error.",
    )
    parser.add_argument("--version", action="version", version=f"policykb {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    kb = sub.add_parser("kb", help="inspect and check the knowledge base")
    kb_sub = kb.add_subparsers(dest="kb_command", metavar="KB_COMMAND", parser_class=_Parser)
    p = kb_sub.add_parser("check", help="verify the KB: items, quotes, references, engine limits (exit 1 on findings)")
    _common(p, lang=True)
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

    def on_application(
        name: str,
        help: str,
        func,
        *,
        item: bool = False,
        reading_help: str | None = None,
        file_help: str | None = None,
        formats: tuple[str, ...] = ("text", "json"),
        saved: bool = False,
    ):
        """A command that reads one application: FILE [ITEM] [--subject] --format --lang --reading
        (FILE optional when ``file_help`` says what the command does without one; with ``saved``,
        ``--decision FILE`` stands for FILE: a decision saved with its trace)."""
        p = sub.add_parser(name, help=help)
        if file_help or saved:
            p.add_argument("file", nargs="?", default=None, help=file_help or "application (JSON or YAML); - reads standard input")
        else:
            p.add_argument("file", help="application (JSON or YAML); - reads standard input")
        if saved:
            p.set_defaults(late_positionals=("file", "item") if item else ("file",))
            p.add_argument(
                "--decision",
                metavar="FILE",
                help="explain a decision saved with evaluate --format json --trace instead of evaluating FILE (- reads standard input)",
            )
        if item:
            p.add_argument("item", nargs="?" if saved else None, help="item ID, e.g. m01.equipment")
            p.add_argument("--subject", help="the subject, when the item has outcomes for several")
        _common(p, lang=True)
        p.add_argument("--format", choices=formats, default="text")
        p.add_argument(
            "--reading", action="append", metavar="ID=OPTION", help=reading_help or "switch a reading, e.g. I-06=per_station (repeatable)"
        )
        p.set_defaults(func=func)
        return p

    p = sub.add_parser(
        "evaluate",
        help="evaluate applications: who qualifies for what, and how much",
        description="Evaluate one application, several files, or JSON Lines (.jsonl: one application per line). "
        "With several, one decision per line (JSON Lines) or per table comes out, in input order; "
        "an application that cannot be evaluated is reported on standard error and skipped (exit 1).",
    )
    p.add_argument("file", nargs="+", help="application files (JSON or YAML), JSON Lines (.jsonl, .ndjson), or - for standard input")
    _common(p, lang=True)
    p.add_argument(
        "--format",
        choices=("text", "json", "csv", "html", "dot"),
        default="text",
        help="text tables; JSON (JSON Lines for several); CSV, one row per outcome; a self-contained HTML report; "
        "dot: the provenance graph of one evaluation (Graphviz)",
    )
    p.add_argument(
        "--trace", action="store_true", help="with --format json: add the provenance (rule firings, derived facts, relation graph)"
    )
    p.add_argument("--reading", action="append", metavar="ID=OPTION", help="switch a reading, e.g. I-06=per_station (repeatable)")
    p.add_argument("--wide", action="store_true", help="full item titles and reasons, whatever the terminal's width")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on standard error")
    p.set_defaults(func=cmd_evaluate)
    on_application("why", "why (or why not): one item's outcome, cited to the policy text", cmd_why, item=True, saved=True)
    p = on_application(
        "whatif",
        "evaluate a changed application and show what changes, and why",
        cmd_whatif,
        reading_help="switch a reading in the changed evaluation",
    )
    p.add_argument(
        "--set",
        action="append",
        metavar="PATH=VALUE",
        help="change a value: year, applicant.FIELD, facts[N].FIELD or facts[SUBJECT].FIELD (value as JSON; null removes)",
    )
    p.add_argument("--add", action="append", metavar="FACT", help="add a fact given as a JSON object")
    p.add_argument("--remove", action="append", metavar="FACT", help="remove a fact: facts[N] or facts[SUBJECT]")
    on_application("qualify", "how an item could qualify: the smallest changes, each verified", cmd_qualify, item=True)
    on_application(
        "readings",
        "the readings of ambiguous sentences: all of them, or which change this application's outcome",
        cmd_readings,
        reading_help="the readings to start from",
        file_help="an application; without one, every reading is listed with its question, options and default",
    )
    on_application(
        "runners-up", "items suppressed by take-the-highest or mutual exclusion, and what they would have paid", cmd_runners_up, saved=True
    )

    p = sub.add_parser("audit", help="hold the awards actually granted against the rules (exit 1 on findings)")
    p.add_argument(
        "file", help="records as JSON Lines or a JSON array; with --awards, the applications as JSON Lines; - reads standard input"
    )
    p.add_argument(
        "--awards",
        metavar="CSV",
        help="granted awards as CSV: applicant_id, year, item, subject, amount, decision_id (- reads standard input)",
    )
    _common(p, lang=True)
    p.add_argument("--format", choices=("json", "text", "md", "html"), default="text")
    p.add_argument(
        "--workers",
        type=_workers,
        default=1,
        metavar="N",
        help="processes (default 1; at most the number of CPUs, larger values are capped)",
    )
    p.add_argument("--reading", action="append", metavar="ID=OPTION")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on standard error")
    p.set_defaults(func=cmd_audit)

    p = sub.add_parser("bench", help="benchmark the pipeline on seeded synthetic applications")
    _common(p)
    p.add_argument(
        "--applications",
        "--records",
        dest="applications",
        type=_whole(1, 10_000_000, "a number of applications"),
        default=2000,
        metavar="N",
        help="how many applications, or audit records with --audit (default 2000)",
    )
    p.add_argument(
        "--workers", type=_workers, default=2, metavar="W", help="processes for the throughput run (default 2; at most the number of CPUs)"
    )
    p.add_argument("--seed", type=_whole(0, 2**63 - 1, "a seed"), default=2021, help="seed of the synthetic applications (default 2021)")
    p.add_argument("--reading", action="append", metavar="ID=OPTION")
    p.add_argument("--audit", action="store_true", help="benchmark the audit instead: N synthetic records, records/s")
    p.add_argument(
        "--http",
        action="store_true",
        help="benchmark policykb serve instead: POST /v1/evaluate p50/p99 at concurrency 1, requests/s at --concurrency",
    )
    p.add_argument("--concurrency", type=int, default=16, metavar="C", help="connections for the --http throughput run (default 16)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("schema", help="print the JSON Schema of an application")
    _common(p)
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("help", help="read the documentation: policykb help TOPIC (engine, kb, explain, audit, api, readings …)")
    p.add_argument("topic", nargs="?", help="a topic; without one, the list of topics")
    _common(p, lang=True)
    p.set_defaults(func=cmd_help)

    p = sub.add_parser(
        "completion",
        help="print a shell completion script: policykb completion bash|zsh|fish",
        description="Print a completion script. Install: policykb completion bash > "
        '~/.local/share/bash-completion/completions/policykb; zsh: > "${fpath[1]}/_policykb"; '
        "fish: > ~/.config/fish/completions/policykb.fish",
    )
    p.add_argument("shell", choices=("bash", "zsh", "fish"))
    _common(p)
    p.set_defaults(func=cmd_completion)

    _add_serve(sub)
    return parser


def _late_positionals(args, extras: list[str]) -> list[str]:
    """FILE and ITEM of a command whose FILE is optional (``--decision`` stands for it):
    argparse fills optional positionals from the first run of them only, so an ITEM given
    after an option comes back unrecognised; it belongs in the first empty one."""
    names = getattr(args, "late_positionals", ())
    rest = list(extras)
    for name in names:
        if getattr(args, name, None) is None and rest and (rest[0] == "-" or not rest[0].startswith("-")):
            setattr(args, name, rest.pop(0))
    return rest


def main(argv: list[str] | None = None) -> int:
    debug = os.environ.get("POLICYKB_DEBUG") == "1"
    try:
        parser = build_parser()
        args, extras = parser.parse_known_args(argv)
        extras = _late_positionals(args, extras)
        named = commands(parser)
        own = named.get(" ".join(n for n in (getattr(args, "command", None), getattr(args, "kb_command", None)) if n), parser)
        if extras:  # the usage of the command that was given, not the top-level one
            own.error(f"unrecognized arguments: {' '.join(extras)}")
        if not getattr(args, "func", None):
            own.print_help(sys.stderr)
            return 2
        check_output(getattr(args, "output", None))
        with exact():
            return int(args.func(args) or 0)
    except PolicyKBError as exc:
        if debug:
            raise
        prefix = "policykb: broken knowledge base:\n" if isinstance(exc, KBError) else "policykb: error: "
        sys.stderr.write(visible(f"{prefix}{exc}\n"))
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("policykb: interrupted\n")
        return 130
    except BrokenPipeError:
        # the reader went away (| head); nothing more to say
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - standard output from here on, closed at exit
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
