"""A user task's own files (and SIB-200's): tsv, csv or jsonl whose columns the task YAML names.

    data:
      format: tsv                                      # tsv | csv | jsonl
      columns: {text: text, label: category, id: index_id}

- tsv: a header row, tab-separated, csv quoting (a field with `"`, tab or newline is quoted and its
  quotes doubled), as pandas `to_csv(sep="\\t", index=False)` writes it. csv: the same with commas.
- jsonl: one JSON object per line; `columns` names keys.
Each text field of the task (its YAML `fields`, else the family's: `text`, or `text_a` and `text_b`) and
`label` must be a column of every
file (a field defaults to its own name); `id` is optional: by default a column called `id` is used
when there is one, else the example is named `<file>:<line>`. Every row must carry a known label:
names of the task's labels, a `label_aliases` spelling, or an id 0..N-1 in label order. Problems are
reported by file and line like every reader's (duplicate ids, wrong field counts, empty texts).
"""

from __future__ import annotations

from collections.abc import Iterator

from xlpt.data.examples import Example
from xlpt.data.formats.context import ReadContext, yields_examples
from xlpt.data.formats.pairs import _first_use, _without_blank_lines
from xlpt.data.formats.text import csv_records, data_lines, json_object, read_text
from xlpt.data.labels import normalise_label


@yields_examples
def read_table_tsv(ctx: ReadContext) -> Iterator[Example]:
    return _read_delimited(ctx, "\t")


@yields_examples
def read_table_csv(ctx: ReadContext) -> Iterator[Example]:
    return _read_delimited(ctx, ",")


@yields_examples
def read_table_jsonl(ctx: ReadContext) -> Iterator[Example]:
    text = read_text(ctx)
    if text is None:
        return
    columns = _columns(ctx)
    required = [field for field in columns if field != "id" or "id" in ctx.task.data.columns]
    records = ((line, [raw] if raw.strip() else []) for line, raw in enumerate(data_lines(text), start=1)
               if line not in ctx.damaged)
    seen: dict[str, int] = {}
    for line, (raw,) in _without_blank_lines(ctx, records):
        row = _json_object(ctx, line, raw)
        if row is None:
            continue
        missing = [f"{columns[field]!r} ({field})" for field in required if columns[field] not in row]
        if missing:
            ctx.fail(line, f"missing key(s) {', '.join(missing)} named by the task's data.columns; the row has: "
                           f"{', '.join(row) or 'no keys'}")
            continue
        values = {field: row.get(key) for field, key in columns.items()}
        example = _example(ctx, line, values, seen)
        if example is not None:
            yield example


def _read_delimited(ctx: ReadContext, delimiter: str):
    text = read_text(ctx)
    if text is None:
        return
    rows = _without_blank_lines(ctx, csv_records(ctx, text, delimiter))
    first = next(rows, None)
    if first is None or first[0] in ctx.damaged:
        return  # nothing but blank or damaged lines: already reported, or "no examples"
    positions = _header(ctx, *first, delimiter)
    if positions is None:
        return
    seen: dict[str, int] = {}
    width = len(first[1])
    name = "tab" if delimiter == "\t" else "comma"
    for line, fields in rows:
        if line in ctx.damaged:
            continue  # reported by read_text
        if len(fields) != width:
            ctx.fail(line, f"expected {width} {name}-separated fields (as in the header on line {first[0]}), "
                           f"got {len(fields)}")
            continue
        example = _example(ctx, line, {field: fields[i] for field, i in positions.items()}, seen)
        if example is not None:
            yield example


def _columns(ctx: ReadContext) -> dict[str, str]:
    """field -> column for the family's text fields, the label and (if named or present) the id."""
    task = ctx.task
    columns = {field: task.column(field) for field in task.example_fields}
    columns["label"] = task.column("label")
    columns["id"] = task.column("id")
    return columns


def _header(ctx: ReadContext, line: int, header: list[str], delimiter: str) -> dict[str, int] | None:
    """field -> column position, or None after reporting what the header lacks."""
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        ctx.fail(line, f"column(s) {', '.join(map(repr, repeated))} appear more than once in the header")
        return None
    positions, missing = {}, []
    for field, column in _columns(ctx).items():
        if column in header:
            positions[field] = header.index(column)
        elif field != "id" or "id" in ctx.task.data.columns:
            missing.append(f"{column!r} ({field})")
    if missing:
        shown = delimiter.join(header) if delimiter == "," else ", ".join(header)
        ctx.fail(line, f"header lacks column(s) {', '.join(missing)} named by the task's data.columns; "
                       f"the header is: {shown}")
        return None
    return positions


def _json_object(ctx: ReadContext, line: int, raw: str) -> dict | None:
    row, problem = json_object(raw)
    if problem:
        ctx.fail(line, problem)
    return row


def _example(ctx: ReadContext, line: int, values: dict, seen: dict[str, int]) -> Example | None:
    fields = ctx.task.example_fields
    for field in fields:
        value = values[field]
        if not isinstance(value, str):
            ctx.fail(line, f"{field} must be a string, got {type(value).__name__}")
            return None
        if not value.strip():
            ctx.fail(line, f"empty {field} (column {ctx.task.column(field)!r})")
            return None
    try:
        label = normalise_label(ctx.task, values["label"])
    except ValueError as err:
        ctx.fail(line, f"{err} (column {ctx.task.column('label')!r})")
        return None
    raw_id = values.get("id")
    example_id = None if raw_id is None or isinstance(raw_id, bool) else str(raw_id).strip()
    if raw_id is not None and not example_id:
        ctx.fail(line, f"empty id (column {ctx.task.column('id')!r})")
        return None
    if not _first_use(ctx, seen, example_id, line):
        return None
    example_id = example_id or ctx.example_id(line)
    return ctx.task.family_record.make_example({field: values[field] for field in fields}, label, ctx.lang,
                                               example_id)
