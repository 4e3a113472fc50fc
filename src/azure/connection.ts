import { DefaultAzureCredential } from "@azure/identity";
import type { TokenCredential } from "@azure/core-auth";
import type { PipelinePolicy, PipelineRetryOptions } from "@azure/core-rest-pipeline";
import type { Config } from "../config";

/**
 * Where and as whom the scanner talks to Azure. Live Azure and the local sandbox differ only
 * here: endpoints, credential, and the sandbox's own certificate authority.
 */
export interface AzureConnection {
  credential: TokenCredential;
  armEndpoint: string;
  graphEndpoint: string;
  /** PEM of an extra certificate authority to trust (the sandbox's); live Azure needs none. */
  tlsCa?: string;
  retryOptions: PipelineRetryOptions;
  /** How long one request may take; a hung page otherwise holds the scan (and its lease) until the host kills it. */
  requestTimeoutMs?: number;
  /** Log Analytics query API (https://api.loganalytics.io in Azure's public cloud); also its token audience. */
  logAnalyticsEndpoint?: string;
}

export function retryOptionsFrom(config: Config): PipelineRetryOptions {
  return { maxRetries: config.AZURE_MAX_RETRIES };
}

/** Gives every request of a pipeline the connection's timeout. */
export function timeoutPolicy(timeoutMs: number): PipelinePolicy {
  return {
    name: "request-timeout",
    sendRequest: (request, next) => {
      request.timeout = timeoutMs;
      return next(request);
    },
  };
}

export function liveConnection(config: Config): AzureConnection {
  return {
    credential: new DefaultAzureCredential(),
    armEndpoint: config.ARM_ENDPOINT,
    graphEndpoint: config.GRAPH_ENDPOINT,
    retryOptions: retryOptionsFrom(config),
    requestTimeoutMs: config.AZURE_REQUEST_TIMEOUT_SECONDS * 1000,
    logAnalyticsEndpoint: config.LOG_ANALYTICS_ENDPOINT,
  };
}

/** The scanner's home tenant: the `tid` claim of its own ARM access token. */
export async function homeTenantOf(connection: AzureConnection): Promise<string> {
  const token = await connection.credential.getToken(`${connection.armEndpoint}/.default`);
  if (!token) throw new Error("The Azure credential returned no token for Azure Resource Manager.");
  const payload = token.token.split(".")[1];
  const claims: unknown = payload
    ? JSON.parse(Buffer.from(payload, "base64url").toString("utf8"))
    : undefined;
  const tid = typeof claims === "object" && claims !== null && "tid" in claims ? claims.tid : undefined;
  if (typeof tid !== "string") throw new Error("The Azure access token carries no tenant id (tid claim).");
  return tid;
}
