import { ResourceGraphClient } from "@azure/arm-resourcegraph";
import type { z } from "zod";
import { timeoutPolicy, type AzureConnection } from "./connection";
import { jsonPath } from "../validation";

/** Which part of the estate a scan covers; empty means every subscription the identity can read. */
export interface ScanScope {
  managementGroups: string[];
  subscriptions: string[];
}

export interface PageEvent {
  query: string;
  page: number;
  rows: number;
  totalRecords: number;
}

export interface ResourceGraphOptions {
  pageSize: number;
  onPage?: (event: PageEvent) => void;
  /** Waits before the next request; replaced in tests to observe throttling. */
  sleep?: (ms: number) => Promise<void>;
}

/** Runs one query to the end of its pages and returns every row, narrowed by the row schema. */
export type QueryAll = <T>(name: string, query: string, rowSchema: z.ZodType<T>) => Promise<T[]>;

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `x-ms-user-quota-resets-after` is hh:mm:ss. */
export function parseResetsAfter(value: string | undefined | null): number | null {
  const match = value?.match(/^(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$/);
  if (!match) return null;
  return ((Number(match[1]) * 60 + Number(match[2])) * 60 + Number(match[3])) * 1000;
}

export function createResourceGraphClient(connection: AzureConnection): ResourceGraphClient {
  return new ResourceGraphClient(connection.credential, {
    endpoint: connection.armEndpoint,
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
}

/**
 * Pages through `$skipToken` to the end. Before the next page it waits out a spent quota
 * (`x-ms-user-quota-remaining: 0`); 429 and 5xx answers are retried by the SDK's pipeline,
 * honouring Retry-After. A result Resource Graph cannot page is an error, never a silent cut.
 */
export function resourceGraphQuery(
  client: ResourceGraphClient,
  scope: ScanScope,
  options: ResourceGraphOptions,
): QueryAll {
  const sleep = options.sleep ?? defaultSleep;
  const scopeParams =
    scope.managementGroups.length > 0
      ? { managementGroups: scope.managementGroups }
      : scope.subscriptions.length > 0
        ? { subscriptions: scope.subscriptions }
        : {};

  // The quota is per identity, so a spent quota holds back the next request of any query.
  let quotaResetsAt = 0;

  return async <T>(name: string, query: string, rowSchema: z.ZodType<T>): Promise<T[]> => {
    const rows: T[] = [];
    let skipToken: string | undefined;
    let page = 0;
    do {
      if (Date.now() < quotaResetsAt) await sleep(quotaResetsAt - Date.now());
      const response = await client.resources(
        {
          ...scopeParams,
          query,
          options: {
            top: options.pageSize,
            resultFormat: "objectArray",
            ...(skipToken ? { skipToken } : {}),
          },
        },
        {
          onResponse: (raw) => {
            if (raw.headers.get("x-ms-user-quota-remaining") === "0") {
              const wait = parseResetsAfter(raw.headers.get("x-ms-user-quota-resets-after")) ?? 5000;
              quotaResetsAt = Date.now() + wait;
            }
          },
        },
      );
      page += 1;
      if (!Array.isArray(response.data))
        throw new Error(`Resource Graph answered the ${name} query without a row array.`);
      if (response.resultTruncated === "true" && !response.skipToken) {
        throw new Error(
          `Resource Graph truncated the ${name} query (${response.count} of ${response.totalRecords} rows) and offered no way to page.`,
        );
      }
      response.data.forEach((item: unknown, index: number) => {
        const parsed = rowSchema.safeParse(item);
        if (!parsed.success) {
          const issue = parsed.error.issues[0];
          throw new Error(
            `Resource Graph returned an unexpected ${name} row (page ${page}, row ${index}): ${jsonPath(issue?.path ?? [])} ${issue?.message ?? ""}`,
          );
        }
        rows.push(parsed.data);
      });
      options.onPage?.({ query: name, page, rows: rows.length, totalRecords: response.totalRecords });
      skipToken = response.skipToken;
    } while (skipToken);
    return rows;
  };
}
