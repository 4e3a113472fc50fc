import { request as httpsRequest } from "node:https";
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { RunningSandbox } from "./server";
import { loopbackTlsIdentity } from "./tls";

/** The services behind the sandbox a fault can hit. */
export type FaultService = "resource-graph" | "arm-subscription" | "graph";

/** What the proxy does instead of passing a request through unchanged. */
export type ProxyFault =
  | {
      kind: "status";
      status: number;
      retryAfterSeconds?: number;
      /**
       * Resource Graph's own throttling answer: `x-ms-user-quota-remaining: 0` and
       * `x-ms-user-quota-resets-after` (hh:mm:ss), no Retry-After (guidance-for-throttled-requests.md).
       */
      quotaResetsAfterSeconds?: number;
    }
  /** Passes the request on, sends the answer's headers and half its body, then cuts the connection. */
  | { kind: "drop" }
  /** Replaces the `$skipToken` of the N-th request that carries one with a token the service no longer knows. */
  | { kind: "expired-skip-token" }
  /** Holds the answer this long (longer than the client's timeout). */
  | { kind: "delay"; ms: number };

export interface FaultRule {
  service: FaultService;
  /** The 1-based number of the request to that service. */
  at: (n: number) => boolean;
  fault: ProxyFault;
}

export interface RunningFaultProxy extends RunningSandbox {
  /** Requests seen per service, and faults injected. */
  seen: Record<FaultService, number>;
  injected: number;
}

function serviceOf(method: string, path: string): FaultService | undefined {
  if (method === "POST" && /^\/providers\/microsoft\.resourcegraph\/resources/i.test(path))
    return "resource-graph";
  if (method === "GET" && /^\/subscriptions\/[^/]+\/?$/i.test(path)) return "arm-subscription";
  if (method === "GET" && /^\/v1\.0\/tenantRelationships\//i.test(path)) return "graph";
  return undefined;
}

function skipTokenOf(body: Buffer): string | undefined {
  try {
    const token = (JSON.parse(body.toString("utf8")) as { options?: { $skipToken?: unknown } }).options
      ?.$skipToken;
    return typeof token === "string" ? token : undefined;
  } catch {
    return undefined;
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/**
 * A loopback HTTPS proxy in front of the sandbox that breaks chosen requests the ways Azure and
 * networks do: error statuses, cut connections, expired paging tokens, answers slower than the
 * client waits. It stands where the Azure endpoints stand, so the scanner's real clients meet it.
 */
export async function startFaultProxy(
  target: RunningSandbox,
  rules: FaultRule[],
): Promise<RunningFaultProxy> {
  const seen: Record<FaultService, number> = { "resource-graph": 0, "arm-subscription": 0, graph: 0 };
  const timers = new Set<NodeJS.Timeout>();
  let injected = 0;
  let pagedRequests = 0;
  const upstream = new URL(target.url);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = decodeURIComponent(new URL(req.url ?? "/", "https://127.0.0.1").pathname);
    let body = await readBody(req);
    const service = serviceOf(req.method ?? "GET", path);
    const n = service ? ++seen[service] : 0;
    // An expired-token rule counts only the requests that carry a token (the pages after the first).
    const token = service === "resource-graph" ? skipTokenOf(body) : undefined;
    if (token) pagedRequests += 1;
    const fault = service
      ? rules.find(
          (r) =>
            r.service === service &&
            (r.fault.kind === "expired-skip-token" ? token !== undefined && r.at(pagedRequests) : r.at(n)),
        )?.fault
      : undefined;
    if (fault) injected += 1;

    if (fault?.kind === "status") {
      res.writeHead(fault.status, {
        "content-type": "application/json",
        ...(fault.retryAfterSeconds !== undefined ? { "retry-after": String(fault.retryAfterSeconds) } : {}),
        ...(fault.quotaResetsAfterSeconds !== undefined
          ? {
              "x-ms-user-quota-remaining": "0",
              "x-ms-user-quota-resets-after": new Date(fault.quotaResetsAfterSeconds * 1000)
                .toISOString()
                .slice(11, 19),
            }
          : {}),
      });
      res.end(
        JSON.stringify({
          error: {
            code: fault.status === 429 ? "RateLimiting" : "ServiceUnavailable",
            message: "Injected by the fault proxy.",
          },
        }),
      );
      return;
    }
    if (fault?.kind === "expired-skip-token") {
      const parsed = JSON.parse(body.toString("utf8")) as { options?: { $skipToken?: string } };
      if (parsed.options?.$skipToken) parsed.options.$skipToken = "expired-token";
      body = Buffer.from(JSON.stringify(parsed));
    }
    if (fault?.kind === "delay") {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          timers.delete(timer);
          resolve();
        }, fault.ms);
        timers.add(timer);
      });
      if (res.destroyed) return;
    }
    const answer = await new Promise<{ status: number; headers: IncomingMessage["headers"]; body: Buffer }>(
      (resolve, reject) => {
        const headers = { ...req.headers, host: upstream.host, "content-length": String(body.length) };
        const forward = httpsRequest(
          {
            hostname: upstream.hostname,
            port: upstream.port,
            path: req.url,
            method: req.method,
            headers,
            ca: target.ca,
          },
          (response) => {
            readBody(response).then(
              (b) => resolve({ status: response.statusCode ?? 502, headers: response.headers, body: b }),
              reject,
            );
          },
        );
        forward.on("error", reject);
        forward.end(body);
      },
    );
    const {
      "content-length": _length,
      "transfer-encoding": _encoding,
      connection: _connection,
      ...headers
    } = answer.headers;
    if (fault?.kind === "drop") {
      res.writeHead(answer.status, { ...headers, "content-length": String(answer.body.length) });
      res.write(answer.body.subarray(0, Math.floor(answer.body.length / 2)));
      res.socket?.destroy();
      return;
    }
    res.writeHead(answer.status, { ...headers, "content-length": String(answer.body.length) });
    res.end(answer.body);
  }

  const tls = await loopbackTlsIdentity();
  const server: Server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { code: "BadGateway", message: String(error) } }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    ca: tls.cert,
    counters: target.counters,
    network: target.network,
    seen,
    get injected() {
      return injected;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
