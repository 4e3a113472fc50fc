import type { AzureConnection } from "../azure/connection";
import type { Config } from "../config";
import type { Logger } from "../log";
import type { Storage } from "../store/storage";

/** What the API routes work with. */
export interface ApiDeps {
  config: Config;
  storage: Storage;
  connection: AzureConnection;
  log: Logger;
}
