import { generate } from "selfsigned";

export interface TlsIdentity {
  key: string;
  cert: string;
}

let identity: Promise<TlsIdentity> | undefined;

/**
 * The Azure SDK sends bearer tokens only over https, so the sandbox serves TLS on loopback with
 * a certificate made for 127.0.0.1 (one per process; making an RSA key takes a moment).
 */
export function loopbackTlsIdentity(): Promise<TlsIdentity> {
  identity ??= generate([{ name: "commonName", value: "cross-tenant-scanner sandbox" }], {
    keySize: 2048,
    algorithm: "sha256",
    notAfterDate: new Date(Date.now() + 7 * 24 * 3600_000),
    extensions: [
      { name: "basicConstraints", cA: true },
      {
        name: "subjectAltName",
        altNames: [
          { type: 7, ip: "127.0.0.1" },
          { type: 2, value: "localhost" },
        ],
      },
    ],
  }).then((pems) => ({ key: pems.private, cert: pems.cert }));
  return identity;
}
