import type { IncomingMessage, ServerResponse } from "node:http";
import { z } from "zod";
import type { Estate } from "../estate";
import { KqlError, runQuery, type Row } from "../kql";

/**
 * The Log Analytics query API, `POST /v1/workspaces/{workspaceId}/query` with `{ query, timespan }`
 * (learn.microsoft.com/azure/azure-monitor/logs/api/request-format), over the estate's optional
 * `logAnalytics` tables, evaluated by the sandbox's KQL engine. As the service does:
 * - the result is `{ tables: [{ name: "PrimaryResult", columns: [{ name, type }], rows: [[…]] }] }`,
 *   datetimes as ISO strings and dynamic values as JSON text (api/response-format);
 * - `timespan` (an ISO 8601 duration, `start/end`, `start/duration` or `duration/end`) limits every
 *   table to rows whose TimeGenerated lies inside it;
 * - a caller without read access on the workspace gets 403 InsufficientAccessError (an estate
 *   without `logAnalytics` stands for that), an unknown workspace 404, a query that does not run
 *   400 BadArgumentError with the reason in `innererror`;
 * - a partial result (api/errors, "Partial errors") is 200 with the tables so far and an `error`.
 */

export interface LogAnalyticsOptions {
  /** Called with each query; true makes the answer a partial result (PartialError), as a timeout can. */
  partial?: (query: string) => boolean;
  /** Called with each query (the tests count them). */
  onQuery?: (query: string) => void;
}

const requestSchema = z.object({ query: z.string().min(1), timespan: z.string().optional() });

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8" });
  res.end(JSON.stringify(body));
}

const error = (code: string, message: string, inner?: { code: string; message: string }) => ({
  error: { code, message, ...(inner ? { innererror: inner } : {}) },
});

/** Milliseconds of an ISO 8601 duration such as P30D, PT12H or P1DT2H30M; null when it is not one. */
export function durationMs(text: string): number | null {
  const m = text.match(/^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/i);
  if (!m || text.toUpperCase() === "P" || text.toUpperCase().endsWith("T")) return null;
  const [, w, d, h, min, s] = m.map((x) => Number(x ?? 0));
  return ((((w! * 7 + d!) * 24 + h!) * 60 + min!) * 60 + s!) * 1000;
}

/** The [start, end] a request's timespan stands for, at `now`; null when it is not one. */
export function timeRange(timespan: string, now: number): [number, number] | null {
  const parts = timespan.split("/");
  if (parts.length === 1) {
    const ms = durationMs(parts[0]!);
    return ms === null ? null : [now - ms, now];
  }
  if (parts.length !== 2) return null;
  const [a, b] = parts as [string, string];
  const at = (s: string) => (/^\d{4}-/.test(s) ? Date.parse(s) : NaN);
  if (!Number.isNaN(at(a)) && !Number.isNaN(at(b))) return [at(a), at(b)];
  if (!Number.isNaN(at(a)) && durationMs(b) !== null) return [at(a), at(a) + durationMs(b)!];
  if (durationMs(a) !== null && !Number.isNaN(at(b))) return [at(b) - durationMs(a)!, at(b)];
  return null;
}

/** A column's type as Log Analytics names it, from the values it holds. */
function columnType(values: unknown[]): string {
  const present = values.filter((v) => v !== null && v !== undefined);
  if (present.length === 0) return "string";
  if (present.every((v) => typeof v === "boolean")) return "bool";
  if (present.every((v) => typeof v === "number")) return present.every(Number.isInteger) ? "long" : "real";
  if (
    present.every(
      (v) =>
        typeof v === "string" && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(v) && !Number.isNaN(Date.parse(v)),
    )
  )
    return "datetime";
  if (present.every((v) => typeof v === "string")) return "string";
  return "dynamic";
}

function primaryResult(rows: Row[]): unknown {
  const names = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const types = names.map((n) => columnType(rows.map((r) => r[n])));
  return {
    name: "PrimaryResult",
    columns: names.map((name, i) => ({ name, type: types[i] })),
    rows: rows.map((r) =>
      names.map((n, i) => {
        const v = r[n] ?? null;
        return types[i] === "dynamic" && v !== null ? JSON.stringify(v) : v;
      }),
    ),
  };
}

/** Answers the query API; false when the request is for something else. */
export async function serveLogAnalytics(
  estate: Estate,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  readBody: () => Promise<string>,
  options: LogAnalyticsOptions = {},
): Promise<boolean> {
  const match = req.method === "POST" && path.match(/^\/v1\/workspaces\/([^/]+)\/query$/i);
  if (!match) return false;
  if (!req.headers.authorization?.startsWith("Bearer ")) {
    send(res, 401, error("AuthorizationRequiredError", "Valid authentication was not provided"));
    return true;
  }
  const workspace = estate.logAnalytics;
  if (!workspace) {
    send(
      res,
      403,
      error(
        "InsufficientAccessError",
        "The provided credentials have insufficient access to perform the requested operation",
      ),
    );
    return true;
  }
  if (match[1]!.toLowerCase() !== workspace.workspaceId.toLowerCase()) {
    send(res, 404, error("WorkspaceNotFoundError", `Workspace ${match[1]} not found`));
    return true;
  }
  let request: z.infer<typeof requestSchema>;
  try {
    request = requestSchema.parse(JSON.parse(await readBody()));
  } catch {
    send(res, 400, error("BadArgumentError", "The request had some invalid properties"));
    return true;
  }
  options.onQuery?.(request.query);
  const now = workspace.asOf ? Date.parse(workspace.asOf) : Date.now();
  const range = request.timespan ? timeRange(request.timespan, now) : null;
  if (request.timespan && !range) {
    send(res, 400, error("BadArgumentError", `Invalid timespan '${request.timespan}'`));
    return true;
  }
  const inRange = (row: Row) => {
    if (!range) return true;
    const t = typeof row.TimeGenerated === "string" ? Date.parse(row.TimeGenerated) : NaN;
    return !Number.isNaN(t) && t >= range[0] && t <= range[1];
  };
  const tables = Object.fromEntries(
    Object.entries(workspace.tables).map(([name, rows]) => [name, (rows as Row[]).filter(inRange)]),
  );
  let rows: Row[];
  try {
    rows = runQuery(request.query, tables).rows;
  } catch (e) {
    if (!(e instanceof KqlError)) throw e;
    send(
      res,
      400,
      error("BadArgumentError", "The request had some invalid properties", {
        code: "SemanticError",
        message: e.message,
      }),
    );
    return true;
  }
  const partial = options.partial?.(request.query) ?? false;
  send(res, 200, {
    tables: [primaryResult(rows)],
    ...(partial
      ? {
          error: {
            code: "PartialError",
            message: "There were some errors when processing your query.",
            details: [
              { code: "EngineError", message: "Query exceeded the time limit; results are partial." },
            ],
          },
        }
      : {}),
  });
  return true;
}
