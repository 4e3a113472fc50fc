import { LogsQueryClient, LogsQueryResultStatus, type LogsTable } from "@azure/monitor-query-logs";
import { errorMessage } from "../errors";
import { cleanDeep } from "../text";
import { timeoutPolicy, type AzureConnection } from "./connection";

/** Log Analytics in Azure's public cloud; its token audience is the same address. */
export const LOG_ANALYTICS_ENDPOINT = "https://api.loganalytics.io";

/** One query's rows, each an object by column name; `partial` says why some may be missing. */
export interface LogRows {
  rows: Record<string, unknown>[];
  /** Set when Log Analytics answered with a partial result (PartialFailure): its error message. */
  partial: string | null;
}

/** What the workspace answered: rows, or that the scanner may not read it. */
export type LogAnswer = LogRows | { denied: string };

/** Runs one KQL query over a time range (an ISO 8601 duration ending now). */
export type QueryLogs = (query: string, window: string) => Promise<LogAnswer>;

function rowsOf(table: LogsTable | undefined): Record<string, unknown>[] {
  if (!table) return [];
  const names = table.columnDescriptors.map((c) => c.name ?? "");
  return table.rows.map((row) =>
    Object.fromEntries(
      names.map((name, i) => {
        const value = row[i];
        return [name, value instanceof Date ? value.toISOString() : (value ?? null)];
      }),
    ),
  );
}

/** The HTTP status a failed query carries, where the SDK kept it. */
const statusOf = (error: unknown): number | undefined =>
  typeof error === "object" && error !== null && "statusCode" in error && typeof error.statusCode === "number"
    ? error.statusCode
    : undefined;

/**
 * Queries one Log Analytics workspace with `LogsQueryClient.queryWorkspace` (needs Log Analytics
 * Reader on the workspace, or a role with `Microsoft.OperationalInsights/workspaces/query/read`).
 * 401 and 403 come back as `denied`; a partial result as rows with `partial`; any other failure
 * throws. Every value is cleaned: user names and claims are written by other tenants.
 */
export function workspaceQuery(connection: AzureConnection, workspaceId: string): QueryLogs {
  const endpoint = (connection.logAnalyticsEndpoint ?? LOG_ANALYTICS_ENDPOINT).replace(/\/+$/, "");
  const client = new LogsQueryClient(connection.credential, {
    endpoint: `${endpoint}/v1`,
    credentials: { scopes: [`${endpoint}/.default`] },
    retryOptions: connection.retryOptions,
    ...(connection.tlsCa ? { tlsOptions: { ca: connection.tlsCa } } : {}),
    ...(connection.requestTimeoutMs
      ? {
          additionalPolicies: [
            { policy: timeoutPolicy(connection.requestTimeoutMs), position: "perCall" as const },
          ],
        }
      : {}),
  });
  return async (query, window) => {
    let result;
    try {
      result = await client.queryWorkspace(workspaceId, query, { duration: window });
    } catch (error) {
      const status = statusOf(error);
      if (status === 401 || status === 403)
        return {
          denied:
            `Log Analytics answered ${status} to a query of workspace ${workspaceId}; grant the scanner's identity ` +
            "Log Analytics Reader on the workspace",
        };
      throw new Error(`Log Analytics query failed${status ? ` (${status})` : ""}: ${errorMessage(error)}`, {
        cause: error,
      });
    }
    if (result.status === LogsQueryResultStatus.PartialFailure) {
      return {
        rows: cleanDeep(rowsOf(result.partialTables[0])),
        partial: cleanDeep(
          `${result.partialError.code ?? "PartialError"}: ${result.partialError.message ?? ""}`,
        ),
      };
    }
    return { rows: cleanDeep(rowsOf(result.tables[0])), partial: null };
  };
}
