import type { Aggregate, Assignment, Query, SortKey, TabularOp } from "./ast";
import { KqlError, at } from "./errors";
import { checkColumn, compileExpr, type Schema } from "./expressions";
import type { QueryResult, Row } from "./types";
import { compareScalars, isBag } from "./values";

/** Resource Graph keeps this many items of each row's array when mv-expand has no `limit`. */
export const MV_EXPAND_DEFAULT_LIMIT = 128;
/** Resource Graph rejects an mv-expand `limit` above this (query-language.md: "RowLimit max of 400"). */
export const MV_EXPAND_MAX_LIMIT = 400;

/**
 * Columns every row of these Resource Graph tables has, whether or not a sandbox row sets them;
 * referring to one is valid even when no row carries it.
 */
const RESOURCE_GRAPH_COLUMNS = [
  "id",
  "name",
  "type",
  "tenantId",
  "kind",
  "location",
  "resourceGroup",
  "subscriptionId",
  "managedBy",
  "sku",
  "plan",
  "properties",
  "tags",
  "identity",
  "zones",
  "extendedLocation",
];
const RESOURCE_GRAPH_TABLES = new Set([
  "resources",
  "resourcecontainers",
  "resourcechanges",
  "managedserviceresources",
]);

type Stage = (rows: Row[]) => Row[];

interface Compiled {
  stage: Stage;
  schema: Schema;
}

export function evaluate(query: Query, tables: Record<string, Row[]>): QueryResult {
  checkResourceGraphLimits(query);
  const compiled = compileQuery(query, tables);
  // take/limit defeat paging, and summarize gives "Simplified results first page only"
  // (query-language.md, "Supported tabular/top level operators"): neither offers a skip token,
  // in a union's leg as much as in the query itself.
  const unpageable = (q: Query): boolean =>
    q.ops.some(
      (op) =>
        op.kind === "take" || op.kind === "summarize" || (op.kind === "union" && op.legs.some(unpageable)),
    );
  return {
    rows: compiled.run(),
    pageable: !unpageable(query),
  };
}

/** Compiles a table and its operators; `run` evaluates them. A join's right side is one such query. */
function compileQuery(query: Query, tables: Record<string, Row[]>): { run: () => Row[]; schema: Schema } {
  const tableKey = Object.keys(tables).find((k) => k.toLowerCase() === query.table.toLowerCase());
  if (tableKey === undefined) throw new KqlError(`Unknown table '${query.table}' ${at(query.tablePos)}`);
  const input = tables[tableKey];

  // Compile every operator before touching rows, so a bad query fails even on an empty table, as in Azure.
  let schema = tableSchema(query.table.toLowerCase(), input);
  const stages: Stage[] = [];
  for (const op of query.ops) {
    const compiled =
      op.kind === "join"
        ? compileJoin(op, schema, tables)
        : op.kind === "union"
          ? compileUnion(op, schema, tables)
          : compileOperator(op, schema);
    stages.push(compiled.stage);
    schema = compiled.schema;
  }
  const run = () => {
    let rows = input;
    for (const stage of stages) rows = stage(rows);
    // A bare table name must not hand the caller's own array back to be mutated.
    return rows === input ? [...input] : rows;
  };
  return { run, schema };
}

/** Join flavors Resource Graph supports (query-language.md, "Supported tabular/top level operators": join). */
export const JOIN_FLAVORS = ["innerunique", "inner", "leftouter"];
/** query-language.md: "Limit of 3 join in a single query". */
export const MAX_JOINS = 3;
/** query-language.md: "Limit of 2 mv-expand in a single query". */
export const MAX_MV_EXPANDS = 2;
/** query-language.md: "union: Limit of 3 union in a single query". */
export const MAX_UNIONS = 3;
/** Tables between which Resource Graph allows more than one cross-table join, and a union. */
const JOINABLE_PAIR = new Set(["resources", "resourcecontainers"]);

/**
 * Limits Resource Graph enforces on a whole query before running it (learn.microsoft.com/azure/
 * governance/resource-graph/concepts/query-language): join flavors and counts, mv-expand count.
 */
function checkResourceGraphLimits(query: Query): void {
  const joins: { left: string; right: string; flavor: string; pos: number }[] = [];
  let mvExpands = 0;
  let unions = 0;
  const walk = (q: Query) => {
    for (const op of q.ops) {
      if (op.kind === "mv-expand") mvExpands += 1;
      if (op.kind === "union") {
        // query-language.md, union: "Might be used within a single table or between the Resources
        // and ResourceContainers tables."
        for (const leg of op.legs) {
          unions += 1;
          const [a, b] = [q.table.toLowerCase(), leg.table.toLowerCase()];
          if (a !== b && !(JOINABLE_PAIR.has(a) && JOINABLE_PAIR.has(b)))
            throw new KqlError(
              `Resource Graph allows union only within one table or between resources and resourcecontainers, not ${q.table} and ${leg.table} ${at(op.pos)}`,
            );
          walk(leg);
        }
      }
      if (op.kind === "join") {
        joins.push({
          left: q.table.toLowerCase(),
          right: op.right.table.toLowerCase(),
          flavor: op.flavor,
          pos: op.pos,
        });
        walk(op.right);
      }
    }
  };
  walk(query);
  for (const join of joins) {
    if (!JOIN_FLAVORS.includes(join.flavor)) {
      throw new KqlError(
        `Join flavor '${join.flavor}' is not supported by Resource Graph; use ${JOIN_FLAVORS.join(", ")} ${at(join.pos)}`,
      );
    }
  }
  if (joins.length > MAX_JOINS) {
    throw new KqlError(`The query has ${joins.length} joins; Resource Graph allows at most ${MAX_JOINS}`);
  }
  const crossTable = joins.filter((j) => j.left !== j.right);
  const allResourcesAndContainers = crossTable.every(
    (j) => JOINABLE_PAIR.has(j.left) && JOINABLE_PAIR.has(j.right),
  );
  if (crossTable.length > 1 && !allResourcesAndContainers) {
    throw new KqlError(
      `The query has ${crossTable.length} cross-table joins; Resource Graph allows 1, or ${MAX_JOINS} between resources and resourcecontainers`,
    );
  }
  if (unions > MAX_UNIONS) {
    throw new KqlError(`The query has ${unions} union legs; Resource Graph allows at most ${MAX_UNIONS}`);
  }
  if (mvExpands > MAX_MV_EXPANDS) {
    throw new KqlError(
      `The query has ${mvExpands} mv-expand operators; Resource Graph allows at most ${MAX_MV_EXPANDS}`,
    );
  }
}

/**
 * Kusto join on equal key columns (learn.microsoft.com/kusto/query/join-operator): innerunique keeps
 * one left row per key, then joins like inner; leftouter also keeps unmatched left rows, with the
 * right side's columns null. Right columns whose names the left side already has get a `1` suffix
 * (the key columns too).
 */
function compileJoin(
  op: Extract<TabularOp, { kind: "join" }>,
  schema: Schema,
  tables: Record<string, Row[]>,
): Compiled {
  const right = compileQuery(op.right, tables);
  for (const key of op.on) {
    checkColumn(key.name, key.pos, schema);
    checkColumn(key.name, key.pos, right.schema);
  }
  if (right.schema === null)
    throw new KqlError(`The right side of the join has no known columns ${at(op.pos)}`);
  const taken = new Set(schema ?? []);
  const rename = new Map<string, string>();
  for (const col of right.schema) {
    let name = col;
    for (let n = 1; taken.has(name); n++) name = `${col}${n}`;
    taken.add(name);
    rename.set(col, name);
  }
  const keyOf = (row: Row) => JSON.stringify(op.on.map((k) => row[k.name] ?? null));
  const hasNullKey = (row: Row) => op.on.some((k) => (row[k.name] ?? null) === null);
  const stage: Stage = (rows) => {
    const index = new Map<string, Row[]>();
    for (const row of right.run()) {
      if (hasNullKey(row)) continue;
      const renamed: Row = {};
      for (const [col, name] of rename) renamed[name] = row[col] ?? null;
      const key = keyOf(row);
      const list = index.get(key);
      if (list) list.push(renamed);
      else index.set(key, [renamed]);
    }
    const nullRight: Row = Object.fromEntries([...rename.values()].map((name) => [name, null]));
    const seenLeft = new Set<string>();
    const out: Row[] = [];
    for (const row of rows) {
      const key = keyOf(row);
      if (op.flavor === "innerunique") {
        if (seenLeft.has(key)) continue;
        seenLeft.add(key);
      }
      const matches = hasNullKey(row) ? undefined : index.get(key);
      if (matches) for (const match of matches) out.push({ ...row, ...match });
      else if (op.flavor === "leftouter") out.push({ ...row, ...nullRight });
    }
    return out;
  };
  return { stage, schema: taken };
}

/**
 * Kusto's default (outer) union (learn.microsoft.com/kusto/query/union-operator): the rows so far,
 * then each leg's, over every column any of them has; a column a row's side lacks is null.
 */
function compileUnion(
  op: Extract<TabularOp, { kind: "union" }>,
  schema: Schema,
  tables: Record<string, Row[]>,
): Compiled {
  const legs = op.legs.map((leg) => compileQuery(leg, tables));
  const schemas = [schema, ...legs.map((leg) => leg.schema)];
  const columns = schemas.some((s) => s === null) ? null : new Set(schemas.flatMap((s) => [...s!]));
  const filled = (row: Row): Row =>
    columns === null ? row : { ...Object.fromEntries([...columns].map((c) => [c, null])), ...row };
  const stage: Stage = (rows) => [...rows, ...legs.flatMap((leg) => leg.run())].map(filled);
  return { stage, schema: columns };
}

function tableSchema(table: string, rows: Row[]): Schema {
  const known = RESOURCE_GRAPH_TABLES.has(table);
  if (rows.length === 0 && !known) return null;
  const columns = new Set(known ? RESOURCE_GRAPH_COLUMNS : []);
  for (const row of rows) for (const key of Object.keys(row)) columns.add(key);
  return columns;
}

function withColumns(schema: Schema, names: string[]): Schema {
  return schema === null ? null : new Set([...schema, ...names]);
}

function compileOperator(op: TabularOp, schema: Schema): Compiled {
  switch (op.kind) {
    case "where": {
      const predicate = compileExpr(op.predicate, schema);
      const stage: Stage = (rows) =>
        rows.filter((row) => {
          const keep = predicate(row);
          if (keep !== null && typeof keep !== "boolean") {
            throw new KqlError(`where needs a boolean condition ${at(op.pos)}`);
          }
          return keep === true;
        });
      return { stage, schema };
    }
    case "extend":
      return compileExtend(op.items, schema);
    case "project":
      return compileProject(op.items, schema);
    case "project-away": {
      for (const col of op.columns) checkColumn(col.name, col.pos, schema);
      const drop = new Set(op.columns.map((c) => c.name));
      const stage: Stage = (rows) =>
        rows.map((row) => Object.fromEntries(Object.entries(row).filter(([key]) => !drop.has(key))));
      return { stage, schema: schema === null ? null : new Set([...schema].filter((c) => !drop.has(c))) };
    }
    case "mv-expand":
      return compileMvExpand(op.item, op.limit, op.pos, schema);
    case "sort":
      return compileSort(op.keys, schema);
    case "take":
      return { stage: (rows) => rows.slice(0, op.count), schema };
    case "count":
      return { stage: (rows) => [{ Count: rows.length }], schema: new Set(["Count"]) };
    case "summarize":
      return compileSummarize(op.aggregates, op.by, op.pos, schema);
    case "join":
    case "union":
      throw new KqlError(`${op.kind} needs the query's tables ${at(op.pos)}`);
  }
}

/** Each extend item sees the columns made by the items before it. */
function compileExtend(items: Assignment[], schema: Schema): Compiled {
  const evaluators = items.map((item) => {
    const ev = compileExpr(item.expr, schema);
    schema = withColumns(schema, [item.name]);
    return { name: item.name, ev };
  });
  const stage: Stage = (rows) =>
    rows.map((row) => {
      const out: Row = { ...row };
      for (const { name, ev } of evaluators) out[name] = ev(out);
      return out;
    });
  return { stage, schema };
}

function compileProject(items: Assignment[], schema: Schema): Compiled {
  const seen = new Set<string>();
  for (const item of items) {
    if (seen.has(item.name)) throw new KqlError(`Column '${item.name}' is projected twice ${at(item.pos)}`);
    seen.add(item.name);
  }
  const evaluators = items.map((item) => ({ name: item.name, ev: compileExpr(item.expr, schema) }));
  const stage: Stage = (rows) =>
    rows.map((row) => {
      const out: Row = {};
      for (const { name, ev } of evaluators) out[name] = ev(row);
      return out;
    });
  return { stage, schema: seen };
}

/**
 * Per learn.microsoft.com/kusto/query/mv-expand-operator ("Returns"): a null value yields one row holding
 * null, an empty array or property bag yields no row, and each element of an array (each property of a bag,
 * as a one-property bag, the default kind=bag) yields a row. The older page
 * (docs.microsoft.com/azure/kusto/query/mvexpandoperator) adds that a value which is not an array is kept as is.
 */
function compileMvExpand(item: Assignment, limit: number | null, pos: number, schema: Schema): Compiled {
  if (limit !== null && limit > MV_EXPAND_MAX_LIMIT) {
    throw new KqlError(`mv-expand limit ${limit} exceeds the maximum of ${MV_EXPAND_MAX_LIMIT} ${at(pos)}`);
  }
  if (limit !== null && limit < 1) throw new KqlError(`mv-expand limit must be at least 1 ${at(pos)}`);
  const max = limit ?? MV_EXPAND_DEFAULT_LIMIT;
  const ev = compileExpr(item.expr, schema);
  const name = item.name;
  const stage: Stage = (rows) => {
    const out: Row[] = [];
    for (const row of rows) {
      const items = expansionItems(ev(row));
      const n = Math.min(items.length, max);
      for (let i = 0; i < n; i++) out.push({ ...row, [name]: items[i] });
    }
    return out;
  };
  return { stage, schema: withColumns(schema, [name]) };
}

function expansionItems(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  if (isBag(value)) return Object.entries(value).map(([k, v]) => ({ [k]: v }));
  return [value];
}

/**
 * Direction defaults to desc; nulls go first for asc and last for desc unless `nulls first|last` says
 * otherwise (learn.microsoft.com/kusto/query/sort-operator).
 */
function compileSort(keys: SortKey[], schema: Schema): Compiled {
  const evaluators = keys.map((key) => ({ ...key, ev: compileExpr(key.expr, schema) }));
  const stage: Stage = (rows) => {
    // Each key is evaluated once per row, column by column, and an index array is sorted.
    const columns = evaluators.map(({ ev, expr }) =>
      rows.map((row) => {
        const v = ev(row);
        if (typeof v === "object" && v !== null) {
          throw new KqlError(
            `order by needs numbers, strings or booleans, not arrays or bags ${at(expr.pos)}`,
          );
        }
        return v;
      }),
    );
    const order = rows.map((_, i) => i);
    order.sort((a, b) => {
      for (let k = 0; k < evaluators.length; k++) {
        const { desc, nullsFirst } = evaluators[k];
        const x = columns[k][a];
        const y = columns[k][b];
        if (x === null || y === null) {
          if (x === y) continue;
          return (x === null) === nullsFirst ? -1 : 1;
        }
        const c = compareScalars(x, y);
        if (c !== 0) return desc ? -c : c;
      }
      return 0;
    });
    return order.map((i) => rows[i]);
  };
  return { stage, schema };
}

/** Default size of make_set()'s result (learn.microsoft.com/kusto/query/make-set-aggregation-function). */
const MAKE_SET_DEFAULT_MAX = 1_048_576;

/**
 * Groups rows by the `by` columns and aggregates each group: count(), sum() of the non-null
 * numbers (learn.microsoft.com/kusto/query/sum-aggregation-function: nulls are ignored; null when
 * there is none), min()/max() over non-null values (null when there is none), make_set() of
 * distinct non-null values up to its size. Without `by`, one row even for no input
 * (learn.microsoft.com/kusto/query/summarize-operator: "a single row" when there is no group-by).
 */
function compileSummarize(
  aggregates: Aggregate[],
  by: { name: string; pos: number }[],
  pos: number,
  schema: Schema,
): Compiled {
  for (const col of by) checkColumn(col.name, col.pos, schema);
  const names = by.map((c) => c.name);
  const outputs = new Set<string>(names);
  for (const a of aggregates) {
    if (outputs.has(a.name))
      throw new KqlError(`summarize output column '${a.name}' is named twice ${at(pos)}`);
    outputs.add(a.name);
  }
  const compiled = aggregates.map((a) => {
    const value = a.args[0] ? compileExpr(a.args[0], schema) : () => null;
    const limitArg = a.args[1];
    if (limitArg && !(limitArg.kind === "literal" && typeof limitArg.value === "number"))
      throw new KqlError(`make_set()'s size must be a number ${at(a.pos)}`);
    const max = limitArg ? (limitArg.value as number) : MAKE_SET_DEFAULT_MAX;
    return { ...a, value, max };
  });
  const stage: Stage = (rows) => {
    const groups = new Map<string, { keys: unknown[]; acc: unknown[]; seen: (Set<string> | null)[] }>();
    const start = () => compiled.map((a) => (a.fn === "count" ? 0 : a.fn === "make_set" ? [] : null));
    const sets = () => compiled.map((a) => (a.fn === "make_set" ? new Set<string>() : null));
    if (names.length === 0) groups.set("", { keys: [], acc: start(), seen: sets() });
    for (const row of rows) {
      const keys = names.map((n) => (Object.hasOwn(row, n) ? (row[n] ?? null) : null));
      const key = JSON.stringify(keys);
      let group = groups.get(names.length === 0 ? "" : key);
      if (group === undefined) {
        group = { keys, acc: start(), seen: sets() };
        groups.set(key, group);
      }
      compiled.forEach((a, i) => {
        if (a.fn === "count") return void (group.acc[i] = (group.acc[i] as number) + 1);
        const v = a.value(row);
        if (v === null || v === undefined) return;
        if (a.fn === "make_set") {
          const set = group.acc[i] as unknown[];
          const seen = group.seen[i]!;
          const key = typeof v === "string" ? `s${v}` : `j${JSON.stringify(v)}`;
          if (set.length < a.max && !seen.has(key)) {
            seen.add(key);
            set.push(v);
          }
          return;
        }
        if (typeof v === "object")
          throw new KqlError(`${a.fn}() needs numbers, strings or booleans ${at(a.pos)}`);
        if (a.fn === "sum") {
          if (typeof v !== "number") throw new KqlError(`sum() needs numbers ${at(a.pos)}`);
          return void (group.acc[i] = ((group.acc[i] as number | null) ?? 0) + v);
        }
        const current = group.acc[i];
        const c = current === null ? 0 : compareScalars(v, current);
        if (current === null || (a.fn === "min" ? c < 0 : c > 0)) group.acc[i] = v;
      });
    }
    return [...groups.values()].map(({ keys, acc }) => ({
      ...Object.fromEntries(names.map((n, i) => [n, keys[i]])),
      ...Object.fromEntries(compiled.map((a, i) => [a.name, acc[i]])),
    }));
  };
  return { stage, schema: outputs };
}
