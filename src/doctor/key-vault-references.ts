import { destinationsOffText } from "../alerts/destinations-off";
import { keyVaultRefreshCall, unresolvedSecrets } from "../config";
import type { DoctorCheck } from "./check";

/**
 * The app's ARM id for the refresh command. App Service sets `WEBSITE_SITE_NAME`,
 * `WEBSITE_RESOURCE_GROUP` and `WEBSITE_OWNER_NAME` (`<subscription id>+<resource group>-<region>
 * webspace`) (https://learn.microsoft.com/azure/app-service/reference-app-settings); Flex
 * Consumption sets no `WEBSITE_RESOURCE_GROUP` and its owner name carries no resource group
 * (Azure/azure-functions-host#10441), so there the command looks the id up by the app's name.
 * Elsewhere (the CLI) the command keeps placeholders.
 */
function refreshCommand(env: Record<string, string | undefined>): string {
  const site = env.WEBSITE_SITE_NAME?.trim() || "<function app>";
  const group = env.WEBSITE_RESOURCE_GROUP?.trim();
  const subscription = env.WEBSITE_OWNER_NAME?.split("+")[0]?.trim() || "<subscription id>";
  if (group || !env.WEBSITE_SITE_NAME?.trim())
    return keyVaultRefreshCall(
      `/subscriptions/${subscription}/resourceGroups/${group || "<resource group>"}/providers/Microsoft.Web/sites/${site}`,
    );
  return (
    `APP_ID=$(az resource list --subscription ${subscription} --name ${site} ` +
    `--resource-type Microsoft.Web/sites --query "[0].id" -o tsv); ${keyVaultRefreshCall("$APP_ID")}`
  );
}

/**
 * `doctor` line `key-vault-references`: fails when an alert secret still holds its Key Vault
 * reference, naming the setting (never its value) and the destination that is off. The fix is the
 * documented refresh of the app's Key Vault references
 * (https://learn.microsoft.com/azure/app-service/app-service-key-vault-references, "Rotation":
 * `POST …/config/configreferences/appsettings/refresh`), once the identity can read the secret.
 */
export async function keyVaultReferencesCheck(
  env: Record<string, string | undefined> = process.env,
): Promise<DoctorCheck> {
  const unresolved = unresolvedSecrets(env);
  if (unresolved.length === 0) {
    return {
      id: "key-vault-references",
      status: "ok",
      detail: "Every alert secret that is set resolved (no Key Vault reference left unresolved).",
      fix: "",
    };
  }
  return {
    id: "key-vault-references",
    status: "fail",
    detail: `${destinationsOffText(unresolved)} The rest of the app runs.`,
    fix:
      "Give the app's identity Key Vault Secrets User on the vault (infra/key-vault.bicep does) and check " +
      `the secret exists, then refresh the references: ${refreshCommand(env)}`,
  };
}
