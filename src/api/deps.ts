import type { AzureConnection } from "../azure/connection";
import type { Config } from "../config";
import type { Logger } from "../log";
import type { Storage } from "../store/storage";
import type { AppServiceAuth } from "./principal";

/** What the API routes work with. */
export interface ApiDeps {
  config: Config;
  storage: Storage;
  connection: AzureConnection;
  log: Logger;
  /** Absent counts as off: allowlist writes under ALLOWLIST_WRITE_AUTH=role are then refused. */
  appServiceAuth?: AppServiceAuth;
}
