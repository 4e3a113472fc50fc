import type { AccessToken, TokenCredential } from "@azure/core-auth";

/**
 * The sandbox's stand-in for an Entra ID sign-in: an unsigned token shaped like Azure's, whose
 * `tid` names the estate's home tenant. The sandbox checks that a bearer token is present, as
 * Azure does, but not its signature.
 */
/** The object id a bearer token names (`oid`); undefined for a token that is not such a JWT. */
export function objectIdOf(token: string): string | undefined {
  try {
    const claims: unknown = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8"));
    if (typeof claims === "object" && claims !== null && "oid" in claims && typeof claims.oid === "string")
      return claims.oid;
  } catch {
    // Not a JWT: no object id.
  }
  return undefined;
}

export class SandboxCredential implements TokenCredential {
  constructor(
    private readonly tenantId: string,
    /** The signed-in principal's object id (a guest's, in the demo's third act). */
    private readonly objectId = "00000000-0000-0000-0000-00000000c0de",
  ) {}

  async getToken(): Promise<AccessToken> {
    const expiresOnTimestamp = Date.now() + 3600_000;
    const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
    const token = [
      part({ alg: "none", typ: "JWT" }),
      part({
        tid: this.tenantId,
        oid: this.objectId,
        exp: Math.floor(expiresOnTimestamp / 1000),
      }),
      "sandbox",
    ].join(".");
    return { token, expiresOnTimestamp };
  }
}
