import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from "@azure/functions";
import { allowlistApi } from "../api/allowlist";
import type { ApiDeps } from "../api/deps";
import { findingsApi } from "../api/findings";
import { healthApi } from "../api/health";
import { answer, MAX_BODY_BYTES, problem, serverFault, type ApiRequest, type ApiResponse } from "../api/http";
import { reportApi } from "../api/report";
import { scansApi } from "../api/scans";
import { contextLogger, runtime } from "./runtime";

type Route = (request: ApiRequest, deps: ApiDeps) => Promise<ApiResponse>;

const tooLarge = () =>
  problem(413, "Payload too large", `Request bodies are limited to ${MAX_BODY_BYTES} bytes.`);

function toHttp(response: ApiResponse): HttpResponseInit {
  return {
    status: response.status,
    ...(response.headers ? { headers: response.headers } : {}),
    ...(response.text !== undefined
      ? { body: response.text }
      : response.body !== undefined
        ? { jsonBody: response.body }
        : {}),
  };
}

/** Adapts an API route to the Functions HTTP trigger: reads the request, checks its size, maps the answer. */
function httpHandler(route: Route) {
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    if (Number(request.headers.get("content-length") ?? 0) > MAX_BODY_BYTES) return toHttp(tooLarge());
    const body = await request.text();
    if (Buffer.byteLength(body) > MAX_BODY_BYTES) return toHttp(tooLarge());
    const log = contextLogger(context);
    const apiRequest: ApiRequest = {
      method: request.method.toUpperCase(),
      params: request.params,
      query: request.query,
      header: (name) => request.headers.get(name),
      body,
    };
    let deps: ApiDeps;
    try {
      deps = { ...runtime(), log };
    } catch (error) {
      // A misconfigured app is our fault, not the caller's: a 500, with the setting's name in the log only.
      return toHttp(serverFault(error, log));
    }
    return toHttp(await answer(() => route(apiRequest, deps), log));
  };
}

export const scansHttp = httpHandler(scansApi);
export const findingsHttp = httpHandler(findingsApi);
export const allowlistHttp = httpHandler(allowlistApi);
export const reportHttp = httpHandler(reportApi);
export const healthHttp = httpHandler((request, deps) => healthApi(request, deps));

app.http("scans", {
  route: "scans/{id?}",
  methods: ["GET", "POST"],
  authLevel: "function",
  handler: scansHttp,
});
app.http("findings", { route: "findings", methods: ["GET"], authLevel: "function", handler: findingsHttp });
app.http("allowlist", {
  route: "allowlist/{id?}",
  methods: ["GET", "PUT", "DELETE"],
  authLevel: "function",
  handler: allowlistHttp,
});
app.http("report", { route: "report", methods: ["GET"], authLevel: "function", handler: reportHttp });
app.http("health", { route: "health", methods: ["GET"], authLevel: "function", handler: healthHttp });
