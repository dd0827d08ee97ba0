import { execFile } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface CertificateFiles {
  certFile: string;
  keyFile: string;
}

/** The certificates and keys a local control plane needs, as files in one directory. */
export interface ControlPlanePki {
  ca: CertificateFiles;
  /** kube-apiserver's serving certificate (SANs: 127.0.0.1, localhost, kubernetes.default.svc). */
  serving: CertificateFiles;
  /** Client certificate of an administrator in group system:masters. */
  admin: CertificateFiles;
  /** Key pair that signs and verifies ServiceAccount tokens. */
  serviceAccountPrivateKeyFile: string;
  serviceAccountPublicKeyFile: string;
}

const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"] as const;

async function openssl(args: readonly string[]): Promise<void> {
  try {
    await run("openssl", args);
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? "";
    throw new Error(`openssl ${args[0] ?? ""} failed: ${stderr.trim()}`, { cause: error });
  }
}

async function issue(
  dir: string,
  name: string,
  subject: string,
  ca: CertificateFiles,
  extensions: readonly string[],
): Promise<CertificateFiles> {
  const files = { certFile: join(dir, `${name}.crt`), keyFile: join(dir, `${name}.key`) };
  await openssl([
    "req",
    "-x509",
    ...EC_KEY,
    "-days",
    "7",
    "-CA",
    ca.certFile,
    "-CAkey",
    ca.keyFile,
    "-subj",
    subject,
    "-keyout",
    files.keyFile,
    "-out",
    files.certFile,
    ...extensions.flatMap((ext) => ["-addext", ext]),
  ]);
  return files;
}

/** Creates a throw-away CA and the certificates a kube-apiserver and its admin need. */
export async function createControlPlanePki(dir: string): Promise<ControlPlanePki> {
  await mkdir(dir, { recursive: true });
  const ca = { certFile: join(dir, "ca.crt"), keyFile: join(dir, "ca.key") };
  await openssl([
    "req",
    "-x509",
    ...EC_KEY,
    "-days",
    "7",
    "-subj",
    "/CN=ddq-test-ca",
    "-keyout",
    ca.keyFile,
    "-out",
    ca.certFile,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
  ]);
  const leaf = [
    "basicConstraints=critical,CA:FALSE",
    "keyUsage=critical,digitalSignature,keyEncipherment",
  ];
  const [serving, admin] = await Promise.all([
    issue(dir, "serving", "/CN=kube-apiserver", ca, [
      ...leaf,
      "extendedKeyUsage=serverAuth",
      "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc",
    ]),
    issue(dir, "admin", "/O=system:masters/CN=ddq-test-admin", ca, [
      ...leaf,
      "extendedKeyUsage=clientAuth",
    ]),
  ]);
  const serviceAccountPrivateKeyFile = join(dir, "sa.key");
  const serviceAccountPublicKeyFile = join(dir, "sa.pub");
  await openssl([
    "genpkey",
    "-algorithm",
    "EC",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-out",
    serviceAccountPrivateKeyFile,
  ]);
  await openssl([
    "pkey",
    "-in",
    serviceAccountPrivateKeyFile,
    "-pubout",
    "-out",
    serviceAccountPublicKeyFile,
  ]);
  return { ca, serving, admin, serviceAccountPrivateKeyFile, serviceAccountPublicKeyFile };
}
