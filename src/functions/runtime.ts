import type { Agent } from "node:https";
import { app, type InvocationContext } from "@azure/functions";
import { liveConnection, type AzureConnection } from "../azure/connection";
import { destinationsOffText } from "../alerts/destinations-off";
import { loadConfig, unresolvedSecrets, type Config, type UnresolvedSecret } from "../config";
import { InputError } from "../errors";
import type { Logger } from "../log";
import { storageFromEnv, type Storage } from "../store/storage";
import { allowlistWritesWarning, appServiceAuthOf, type AppServiceAuth } from "../api/principal";

/** What the functions work with: settings, the storage account and the way to Azure. */
export interface Runtime {
  config: Config;
  storage: Storage;
  connection: AzureConnection;
  /** https agent for webhooks; the demo's trusts its local sink. */
  agent?: Agent;
  /** What the platform's app settings say of App Service Authentication; absent counts as off. */
  appServiceAuth?: AppServiceAuth;
  /** Secrets whose Key Vault reference did not resolve: their alert destinations are off. */
  unresolvedSecrets?: UnresolvedSecret[];
}

let current: Runtime | undefined;

function fromEnvironment(): Runtime {
  const config = loadConfig(process.env);
  const storage = storageFromEnv(process.env);
  if (!storage) {
    throw new InputError(
      "AzureWebJobsStorage is not set: the functions keep their state in that storage account.",
    );
  }
  return {
    config,
    storage,
    connection: liveConnection(config),
    appServiceAuth: appServiceAuthOf(process.env),
    unresolvedSecrets: unresolvedSecrets(process.env),
  };
}

/** The runtime read from app settings once per process (a bad setting fails naming it). */
export function runtime(): Runtime {
  current ??= fromEnvironment();
  return current;
}

/** For the demo and tests, which run the same handlers against the sandbox instead of Azure. */
export function useRuntime(runtime: Runtime | undefined): void {
  current = runtime;
}

/** One structured object per event through the host's logger; events carry no secrets. */
export function contextLogger(context: InvocationContext): Logger {
  return (level, event, fields = {}) => {
    const entry = { event, invocationId: context.invocationId, ...fields };
    if (level === "error") context.error(entry);
    else if (level === "warn") context.warn(entry);
    else if (level === "debug") context.debug(entry);
    else context.info(entry);
  };
}

// A misconfigured app fails when the host starts it, with the setting's name, not at the first trigger.
app.hook.appStart(() => {
  const { config, appServiceAuth, unresolvedSecrets: unresolved = [] } = runtime();
  const warning = allowlistWritesWarning(config.ALLOWLIST_WRITE_AUTH, appServiceAuth);
  // The host collects the worker's stderr into its logs; no invocation logger exists yet.
  if (warning) console.warn(JSON.stringify({ event: "allowlist-writes-refused", reason: warning }));
  // Only those destinations are off; scans, the poller and Event Grid keep running. The timer
  // scan says it again, and alerts the destinations that still work (src/alerts/destinations-off.ts).
  if (unresolved.length > 0) {
    console.error(
      JSON.stringify({
        event: "key-vault-reference-unresolved",
        settings: unresolved.map((u) => u.setting),
        reason: destinationsOffText(unresolved),
      }),
    );
  }
});
