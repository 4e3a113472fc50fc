import type { z } from "zod";
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

/** The JSON body narrowed by a strict schema; an empty body counts as `{}`. */
export function parseBody<S extends z.ZodType>(schema: S, request: ApiRequest): z.output<S> {
  let data: unknown = {};
  if (request.body.trim() !== "") {
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

/** Query parameters narrowed by a strict schema: an unknown or repeated parameter is refused. */
export function parseQuery<S extends z.ZodType>(schema: S, query: URLSearchParams): z.output<S> {
  const names = [...query.keys()];
  const repeated = names.find((name, i) => names.indexOf(name) !== i);
  if (repeated) throw badRequest(`The query parameter '${repeated}' is given more than once.`);
  const result = schema.safeParse(Object.fromEntries(query));
  if (!result.success) {
    throw badRequest(
      `The query is not valid: ${describeIssues(result.error).join("; ").replace(/\$\./g, "")}`,
    );
  }
  return result.data;
}

/** Runs a route; refusals become problem responses, unexpected failures a 500 that is logged. */
export async function answer(route: () => Promise<ApiResponse>, log: Logger): Promise<ApiResponse> {
  try {
    return await route();
  } catch (error) {
    if (error instanceof ApiError) return problem(error.status, error.title, error.message, error.headers);
    if (error instanceof InputError) return problem(400, "Bad request", error.message);
    if (error instanceof AllowlistConflictError) return problem(409, "Conflict", error.message);
    log("error", "api-failed", { error: errorMessage(error) });
    return problem(500, "Internal error", `The request failed: ${errorMessage(error)}`);
  }
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
