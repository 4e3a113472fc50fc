import {
  bearerTokenAuthenticationPolicy,
  createDefaultHttpClient,
  createHttpHeaders,
  createPipelineFromOptions,
  createPipelineRequest,
  type Pipeline,
  type PipelineResponse,
} from "@azure/core-rest-pipeline";
import { timeoutPolicy, type AzureConnection } from "./connection";

/** A GET, or a POST of `body` as JSON where one is given (Graph's getByIds reads with a POST). */
export type AzureGet = (url: string, auth?: { scope: string }, body?: unknown) => Promise<PipelineResponse>;

/**
 * GETs through the Azure SDK's own pipeline (retries, Retry-After, TLS), anonymous or with a
 * bearer token for the given scope. One HTTP client is kept so connections are reused.
 */
export function azureGetter(connection: AzureConnection): AzureGet {
  const httpClient = createDefaultHttpClient();
  const pipelines = new Map<string, Pipeline>();
  const pipelineFor = (scope: string | undefined): Pipeline => {
    const key = scope ?? "";
    let pipeline = pipelines.get(key);
    if (!pipeline) {
      pipeline = createPipelineFromOptions({
        retryOptions: connection.retryOptions,
        redirectOptions: { maxRetries: 0 },
        ...(connection.tlsCa ? { tlsOptions: { ca: connection.tlsCa } } : {}),
      });
      if (connection.requestTimeoutMs) pipeline.addPolicy(timeoutPolicy(connection.requestTimeoutMs));
      if (scope)
        pipeline.addPolicy(
          bearerTokenAuthenticationPolicy({ credential: connection.credential, scopes: scope }),
        );
      pipelines.set(key, pipeline);
    }
    return pipeline;
  };
  return (url, auth, body) =>
    pipelineFor(auth?.scope).sendRequest(
      httpClient,
      createPipelineRequest({
        url,
        method: body === undefined ? "GET" : "POST",
        headers: createHttpHeaders({
          accept: "application/json",
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        }),
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }),
    );
}
