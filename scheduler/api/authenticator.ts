/**
 * Who is calling. A bearer token from the static token file (CSV lines `token,client-name`, as
 * mounted from a Secret), or a client certificate verified by mTLS (the client is its subject CN).
 * With authentication disabled (local development only) every caller is "anonymous".
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Metadata, ServerUnaryCall } from "@grpc/grpc-js";

/** What grpc-js knows of the transport (TLS peer certificate). */
export type AuthContext = ReturnType<ServerUnaryCall<unknown, unknown>["getAuthContext"]>;

export class AuthenticationError extends Error {
  override readonly name = "AuthenticationError";
}

export interface Authenticator {
  /** The client's name; throws AuthenticationError when the call carries no valid credential. */
  authenticate(metadata: Metadata, auth: AuthContext): string;
}

function digest(token: string): Buffer {
  return createHash("sha256").update(token, "utf8").digest();
}

/** Parses a token file: one `token,client-name` per line; blank lines and # comments skipped. */
export function parseTokenFile(text: string, source = "token file"): Map<string, string> {
  const tokens = new Map<string, string>();
  text.split("\n").forEach((raw, index) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const comma = line.indexOf(",");
    const token = comma < 0 ? "" : line.slice(0, comma).trim();
    const client = comma < 0 ? "" : line.slice(comma + 1).trim();
    if (token.length < 16 || client === "") {
      throw new Error(
        `${source} line ${index + 1}: expected "token,client-name" with a token of 16+ characters`,
      );
    }
    tokens.set(digest(token).toString("hex"), client);
  });
  if (tokens.size === 0) throw new Error(`${source} has no tokens`);
  return tokens;
}

export class StaticAuthenticator implements Authenticator {
  /** sha256(token) hex -> client name: lookups compare digests, not secrets. */
  private readonly tokens: Map<string, string>;

  constructor(
    tokens: Map<string, string>,
    private readonly acceptClientCertificates: boolean,
  ) {
    this.tokens = tokens;
  }

  static fromFile(path: string, acceptClientCertificates: boolean): StaticAuthenticator {
    return new StaticAuthenticator(
      parseTokenFile(readFileSync(path, "utf8"), path),
      acceptClientCertificates,
    );
  }

  authenticate(metadata: Metadata, auth: AuthContext): string {
    const [header] = metadata.get("authorization");
    if (typeof header === "string" && header !== "") {
      const match = /^Bearer\s+(\S+)$/i.exec(header);
      if (match?.[1] === undefined) {
        throw new AuthenticationError('authorization must be "Bearer <token>"');
      }
      const wanted = digest(match[1]);
      for (const [hex, client] of this.tokens) {
        if (timingSafeEqual(Buffer.from(hex, "hex"), wanted)) return client;
      }
      throw new AuthenticationError("unknown bearer token");
    }
    // grpc-js has verified the chain against the client CA before the call reaches us.
    const subject = auth.sslPeerCertificate?.subject;
    const cn = subject === undefined ? undefined : subject.CN;
    if (this.acceptClientCertificates && typeof cn === "string" && cn !== "") return `cert:${cn}`;
    throw new AuthenticationError(
      "missing credentials: send `authorization: Bearer <token>` (or a client certificate with mTLS)",
    );
  }
}

/** Local development only: every call is accepted as "anonymous". */
export class NoAuthentication implements Authenticator {
  authenticate(): string {
    return "anonymous";
  }
}
