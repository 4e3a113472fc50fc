import { retryOptionsFrom, type AzureConnection } from "../azure/connection";
import type { Config } from "../config";
import { SandboxCredential } from "./credential";
import type { Estate } from "./estate";
import type { RunningSandbox } from "./server";

/** How the scanner reaches a running sandbox: same clients as live Azure, other endpoint and credential. */
export function sandboxConnection(sandbox: RunningSandbox, estate: Estate, config: Config): AzureConnection {
  return {
    credential: new SandboxCredential(estate.homeTenantId),
    armEndpoint: sandbox.url,
    graphEndpoint: sandbox.url,
    tlsCa: sandbox.ca,
    retryOptions: retryOptionsFrom(config),
    requestTimeoutMs: config.AZURE_REQUEST_TIMEOUT_SECONDS * 1000,
    logAnalyticsEndpoint: sandbox.url,
  };
}
