/** How commands reach a scheduler: address, token and TLS from flags or DDQ_* variables. */
import { readFileSync } from "node:fs";
import type { ClientOptions } from "../client/ddqClient.js";
import type { Settings } from "./config.js";
import { InputError, UsageError } from "./exitCodes.js";

export function clientOptions(settings: Settings): ClientOptions {
  const address =
    settings.string("scheduler-address", settings.string("address", "127.0.0.1:7070")) ?? "";
  const options: ClientOptions = { address };
  const tokenFile = settings.string("token-file");
  const token =
    settings.string("token") ?? (tokenFile === undefined ? undefined : readToken(tokenFile));
  if (token !== undefined) options.token = token;
  const caPem = settings.file("tls-ca-file");
  const certPem = settings.file("tls-cert-file");
  const keyPem = settings.file("tls-key-file");
  if ((certPem === undefined) !== (keyPem === undefined)) {
    throw new UsageError("--tls-cert-file and --tls-key-file go together");
  }
  if (caPem !== undefined || certPem !== undefined || settings.boolean("tls")) {
    options.tls = {
      ...(caPem === undefined ? {} : { caPem }),
      ...(certPem === undefined ? {} : { certPem }),
      ...(keyPem === undefined ? {} : { keyPem }),
    };
  }
  return options;
}

function readToken(path: string): string {
  try {
    return readFileSync(path, "utf8").trim();
  } catch (error) {
    throw new InputError(`--token-file: cannot read ${path}: ${(error as Error).message}`);
  }
}
