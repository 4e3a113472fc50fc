import { allowlistEntryInputSchema } from "../allowlist/entry";
import { AllowlistStore } from "../store/allowlist-store";
import { platformOf, readAuthOf, type ApiDeps } from "./deps";
import {
  ApiError,
  methodNotAllowed,
  NO_QUERY,
  parseBody,
  parseQuery,
  type ApiRequest,
  type ApiResponse,
} from "./http";
import { requireReader, requireWriter, type WriteAuthorisation } from "./principal";

export const WRITE_ROLE = "Allowlist.Write";
const ENTRY_ID = /^[a-z0-9-]{1,64}$/;

/** `GET /api/allowlist`, and `GET`, `PUT`, `DELETE /api/allowlist/{id}`: the stored allowlist, entry by entry. */
export async function allowlistApi(request: ApiRequest, deps: ApiDeps): Promise<ApiResponse> {
  parseQuery(NO_QUERY, request.query);
  const store = new AllowlistStore(deps.storage);
  const id = request.params.id;
  const auth: WriteAuthorisation = {
    mode: deps.config.ALLOWLIST_WRITE_AUTH,
    platform: platformOf(deps),
  };
  if (request.method === "GET") requireReader(request, readAuthOf(deps));
  if (!id) {
    if (request.method !== "GET") throw methodNotAllowed(request, ["GET"]);
    return { status: 200, body: { entries: await store.list() } };
  }
  if (!ENTRY_ID.test(id))
    throw new ApiError(
      400,
      "Bad request",
      `'${id}' is not an entry id: use 1-64 characters of a-z, 0-9 and '-'.`,
    );
  const find = async () => (await store.list()).find((e) => e.id === id);

  switch (request.method) {
    case "GET": {
      const entry = await find();
      if (!entry) throw new ApiError(404, "Not found", `The allowlist has no entry '${id}'.`);
      return { status: 200, body: entry };
    }
    case "PUT": {
      const caller = requireWriter(request, WRITE_ROLE, auth);
      const body = parseBody(allowlistEntryInputSchema, request);
      if (body.id !== undefined && body.id !== id) {
        throw new ApiError(400, "Bad request", `The body's id '${body.id}' differs from the path's '${id}'.`);
      }
      const result = await store.upsert({ ...body, id }, caller.name);
      return { status: result.added > 0 ? 201 : 200, body: await find() };
    }
    case "DELETE": {
      const caller = requireWriter(request, WRITE_ROLE, auth);
      if (!(await store.remove(id, caller.name)))
        throw new ApiError(404, "Not found", `The allowlist has no entry '${id}'.`);
      return { status: 204 };
    }
    default:
      throw methodNotAllowed(request, ["GET", "PUT", "DELETE"]);
  }
}
