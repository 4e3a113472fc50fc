import { workspaceQuery } from "../azure/log-analytics";
import { probeLogAnalyticsWorkspace, probePolicyRead } from "./entra-evidence";
import type { AzureConnection } from "../azure/connection";
import { azureGetter } from "../azure/http";
import { isKeyVaultReference, loadConfig, type Config } from "../config";
import { keyVaultReferencesCheck } from "./key-vault-references";
import { lighthouseTableCheck } from "./lighthouse-table";
import { managementGroupTreeCheck } from "./management-group-tree";
import { InputError } from "../errors";
import { scopeOf } from "../scan/run-scan";
import type { DoctorCheck } from "./check";
import {
  builtInRolesCheck,
  crossTenantInformationCheck,
  eventGridCheck,
  graphDirectoryChecks,
  identityCheck,
  identityOf,
  resourceGraphCheck,
  webhookChecks,
  type ProbeContext,
} from "./probes";

export interface DoctorOptions {
  /** The settings as given (app settings or the environment): unresolved Key Vault references are looked for here. */
  env: Record<string, string | undefined>;
  /** Where Azure is: live, or the sandbox. */
  connect: (config: Config) => Promise<AzureConnection>;
  /** Resolves webhook hosts; tests give their own. */
  resolve?: (host: string) => Promise<string[]>;
}

/** Settings as the scan would read them, with unresolved Key Vault references blanked (reported on their own line). */
function lenientConfig(env: Record<string, string | undefined>): {
  config: Config | null;
  problem: DoctorCheck;
} {
  const blanked = Object.fromEntries(
    Object.entries(env).map(([name, value]) => [
      name,
      value !== undefined && isKeyVaultReference(value) ? "" : value,
    ]),
  );
  try {
    return {
      config: loadConfig(blanked),
      problem: { id: "settings", status: "ok", detail: "Every setting is valid.", fix: "" },
    };
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    return {
      config: null,
      problem: {
        id: "settings",
        status: "fail",
        detail: error.message
          .split("\n")
          .map((line) => line.trim())
          .join(" "),
        fix: "Correct the named settings (see the README's Configuration table).",
      },
    };
  }
}

/**
 * Every assumption a scan makes, checked live and without writing anything: the identity and its
 * tenant, Resource Graph at the scope, each Graph permission (by calling it), userType in user
 * reads, built-in role definitions, Lighthouse delegations' table, Event Grid topics, Graph's policy reads (Policy.Read.All), the
 * Log Analytics workspace where one is set, Key Vault references and webhooks. A
 * credential that cannot sign in at all throws (the caller says so in one line).
 */
export async function runDoctor(options: DoctorOptions): Promise<DoctorCheck[]> {
  const { config, problem } = lenientConfig(options.env);
  const checks: DoctorCheck[] = [problem, await keyVaultReferencesCheck(options.env)];
  if (!config) return checks;
  const connection = await options.connect(config);
  const identity = await identityOf(connection);
  checks.push(identityCheck(identity, connection));
  const context: ProbeContext = {
    connection,
    config,
    get: azureGetter(connection),
    identity,
    scope: scopeOf(config),
  };
  checks.push(await resourceGraphCheck(context));
  checks.push(...(await graphDirectoryChecks(context)));
  checks.push(await crossTenantInformationCheck(context));
  checks.push(await builtInRolesCheck(context));
  checks.push(await lighthouseTableCheck(context));
  checks.push(await managementGroupTreeCheck(context));
  checks.push(await eventGridCheck(context));
  checks.push(await probePolicyRead(connection, context.get));
  if (config.LOG_ANALYTICS_WORKSPACE_ID)
    checks.push(
      await probeLogAnalyticsWorkspace(
        config.LOG_ANALYTICS_WORKSPACE_ID,
        workspaceQuery(connection, config.LOG_ANALYTICS_WORKSPACE_ID),
        config.SIGN_IN_WINDOW,
      ),
    );
  checks.push(...(await webhookChecks(config, options.resolve)));
  return checks;
}

/** Exit code of `doctor` and the health endpoint's verdict: 0 when nothing fails, 3 otherwise. */
export const doctorFailed = (checks: readonly DoctorCheck[]) => checks.some((c) => c.status === "fail");
