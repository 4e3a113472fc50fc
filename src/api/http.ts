import { randomUUID } from "node:crypto";
import { z } from "zod";
import { errorMessage, InputError } from "../errors";
import type { Logger } from "../log";
import { AllowlistConflictError } from "../store/allowlist-store";
import { describeIssues } from "../validation";

/** An HTTP request as the API sees it, whatever host delivered it. */
export interface ApiRequest {
  method: string;
  params: Record<string, string | undefined>;
  query: URLSearchParams;
  header(name: string): string | null;
  /** The body text, already checked against MAX_BODY_BYTES. */
  body: string;
}

export interface ApiResponse {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** A body sent as it is (the HTML report), with its own content-type header; instead of `body`. */
  text?: string;
}

export const MAX_BODY_BYTES = 64 * 1024;

/** A refusal with its HTTP status, answered as application/problem+json (RFC 9457). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    detail: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
  }
}

export function problem(
  status: number,
  title: string,
  detail: string,
  headers: Record<string, string> = {},
): ApiResponse {
  return {
    status,
    headers: { "content-type": "application/problem+json", ...headers },
    body: { type: "about:blank", title, status, detail },
  };
}

const badRequest = (detail: string) => new ApiError(400, "Bad request", detail);

/** `application/json`, or a `+json` type, with any parameters (RFC 8259, RFC 6839). */
const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json\s*(;|$)/i;

/** The JSON body narrowed by a strict schema; an empty body counts as `{}`. A body must say it is JSON. */
export function parseBody<S extends z.ZodType>(schema: S, request: ApiRequest): z.output<S> {
  let data: unknown = {};
  if (request.body.trim() !== "") {
    if (!JSON_MEDIA_TYPE.test(request.header("content-type") ?? "")) {
      throw new ApiError(
        415,
        "Unsupported media type",
        "Send the request body as JSON with the header 'content-type: application/json'.",
      );
    }
    try {
      data = JSON.parse(request.body);
    } catch {
      throw badRequest("The request body is not JSON.");
    }
  }
  const result = schema.safeParse(data);
  if (!result.success)
    throw badRequest(`The request body is not valid: ${describeIssues(result.error).join("; ")}`);
  return result.data;
}

/**
 * The function key may come as `?code=` (the host checks it before a route runs): every route
 * accepts it and ignores it.
 */
const FUNCTION_KEY_PARAMETER = "code";

/** A query parameter holding a whole number: decimal digits only (no `0x10`, `1e3`, `+5` or ` 5`). */
export const queryInteger = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,9}$/, "must be a decimal whole number")
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

/**
 * Query parameters narrowed by a strict object schema (every route calls this, with
 * `NO_QUERY` when it takes none): `code` is ignored, an unknown or repeated parameter is refused.
 */
export function parseQuery<S extends z.ZodType>(schema: S, query: URLSearchParams): z.output<S> {
  const entries = [...query].filter(([name]) => name !== FUNCTION_KEY_PARAMETER);
  const names = entries.map(([name]) => name);
  const repeated = names.find((name, i) => names.indexOf(name) !== i);
  if (repeated) throw badRequest(`The query parameter '${repeated}' is given more than once.`);
  const result = schema.safeParse(Object.fromEntries(entries));
  if (!result.success) {
    throw badRequest(
      `The query is not valid: ${describeIssues(result.error).join("; ").replace(/\$\./g, "")}`,
    );
  }
  return result.data;
}

/** For routes that take no query parameters. */
export const NO_QUERY = z.strictObject({});

/**
 * Runs a route; refusals become problem responses. An unexpected failure is logged with a
 * correlation id and answered with that id only: storage messages carry request ids, account
 * names and times that are none of the caller's business.
 */
export async function answer(route: () => Promise<ApiResponse>, log: Logger): Promise<ApiResponse> {
  try {
    return await route();
  } catch (error) {
    if (error instanceof ApiError) return problem(error.status, error.title, error.message, error.headers);
    if (error instanceof InputError) return problem(400, "Bad request", error.message);
    if (error instanceof AllowlistConflictError) return problem(409, "Conflict", error.message);
    return serverFault(error, log);
  }
}

/** A 500 that names a correlation id and nothing else; what went wrong goes to the log under that id. */
export function serverFault(error: unknown, log: Logger): ApiResponse {
  const correlationId = randomUUID();
  log("error", "api-failed", { correlationId, error: errorMessage(error) });
  const response = problem(
    500,
    "Internal error",
    `The request failed on our side. Quote correlation id ${correlationId} to whoever runs this app.`,
  );
  return { ...response, body: { ...(response.body as object), correlationId } };
}

export const methodNotAllowed = (request: ApiRequest, allowed: string[]) =>
  new ApiError(
    405,
    "Method not allowed",
    `${request.method} is not supported here; use ${allowed.join(" or ")}.`,
    {
      allow: allowed.join(", "),
    },
  );
