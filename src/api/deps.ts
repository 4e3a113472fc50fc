import type { AzureConnection } from "../azure/connection";
import type { Config } from "../config";
import type { Logger } from "../log";
import type { Storage } from "../store/storage";
import { AUTH_OFF, type AppServiceAuth } from "./principal";

/** What the API routes work with. */
export interface ApiDeps {
  config: Config;
  storage: Storage;
  connection: AzureConnection;
  log: Logger;
  /** Absent counts as off: allowlist writes under ALLOWLIST_WRITE_AUTH=role are then refused. */
  appServiceAuth?: AppServiceAuth;
}

/** The platform's authentication state (absent counts as off). */
export const platformOf = (deps: ApiDeps): AppServiceAuth => deps.appServiceAuth ?? AUTH_OFF;

/** How API_READ_AUTH applies to this request's deps. */
export const readAuthOf = (deps: ApiDeps) => ({
  mode: deps.config.API_READ_AUTH,
  platform: platformOf(deps),
});
