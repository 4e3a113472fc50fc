import { allowlistEntryInputSchema } from "../allowlist/entry";
import { AllowlistStore } from "../store/allowlist-store";
import type { ApiDeps } from "./deps";
import { ApiError, methodNotAllowed, parseBody, type ApiRequest, type ApiResponse } from "./http";
import { requireRole } from "./principal";

export const WRITE_ROLE = "Allowlist.Write";
const ENTRY_ID = /^[a-z0-9-]{1,64}$/;

/** `GET /api/allowlist`, and `GET`, `PUT`, `DELETE /api/allowlist/{id}`: the stored allowlist, entry by entry. */
export async function allowlistApi(request: ApiRequest, deps: ApiDeps): Promise<ApiResponse> {
  const store = new AllowlistStore(deps.storage);
  const id = request.params.id;
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
      const caller = requireRole(request, WRITE_ROLE);
      const body = parseBody(allowlistEntryInputSchema, request);
      if (body.id !== undefined && body.id !== id) {
        throw new ApiError(400, "Bad request", `The body's id '${body.id}' differs from the path's '${id}'.`);
      }
      const result = await store.upsert({ ...body, id }, caller.name);
      return { status: result.added > 0 ? 201 : 200, body: await find() };
    }
    case "DELETE": {
      const caller = requireRole(request, WRITE_ROLE);
      if (!(await store.remove(id, caller.name)))
        throw new ApiError(404, "Not found", `The allowlist has no entry '${id}'.`);
      return { status: 204 };
    }
    default:
      throw methodNotAllowed(request, ["GET", "PUT", "DELETE"]);
  }
}
