/**
 * A list+watch cache of one custom resource kind (in all namespaces or one), with what client-go's
 * reflector does and client-node's informer does not:
 *
 * - list in pages, then watch from the list's resourceVersion with bookmarks;
 * - a watch that ends (server timeout, connection drop) resumes from the last resourceVersion seen;
 * - "410 Gone" (the resourceVersion is older than etcd's compaction window, as an ERROR event or
 *   a status code) relists, and the relist diffs against the cache: deletions missed while
 *   disconnected are reported as deletions;
 * - any other failure retries with exponential backoff (and jitter), never stops.
 *
 * The store can be told about objects the controller wrote (`observe`), so that a reconcile
 * right after a write does not read a stale copy.
 */
import { statusCode } from "../scheduler/kubernetesStatus.js";
import type { Log } from "./context.js";
import { CustomObjectsApi, Watch, type KubeConfig } from "@kubernetes/client-node";
import type { ResourceMetadata } from "./spec/types.js";

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ResourceMetadata;
}

export interface InformerHandlers<T extends KubeObject> {
  onUpsert(object: T, previous: T | undefined): void;
  onDelete(object: T): void;
}

export interface InformerOptions {
  group: string;
  version: string;
  plural: string;
  /** Unset: all namespaces. */
  namespace?: string;
  pageSize?: number;
  log?: Log;
  /** Backoff after a failure: initial and cap. Default 200 ms .. 30 s. */
  backoffMs?: { initial: number; max: number };
}

export function objectKey(metadata: ResourceMetadata): string {
  return `${metadata.namespace ?? ""}/${metadata.name ?? ""}`;
}

/** resourceVersion order: numeric when both are (etcd), else "different means newer". */
export function isNewer(candidate: string | undefined, current: string | undefined): boolean {
  if (candidate === undefined) return false;
  if (current === undefined) return true;
  if (/^\d+$/.test(candidate) && /^\d+$/.test(current)) return BigInt(candidate) > BigInt(current);
  return candidate !== current;
}

class GoneError extends Error {}

interface ListResponse {
  items?: unknown[];
  metadata?: { resourceVersion?: string; continue?: string };
}

export class Informer<T extends KubeObject> {
  private readonly store = new Map<string, T>();
  private readonly api: CustomObjectsApi;
  private readonly watcher: Watch;
  private resourceVersion: string | undefined;
  private stopped = false;
  private abort: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private pendingResourceVersion: string | undefined;
  private rewatching = false;
  private syncedResolve: (() => void) | undefined;
  /** Resolves after the first complete list. */
  readonly synced: Promise<void>;
  /** Counters for metrics and tests. */
  readonly stats = { lists: 0, watches: 0, gone: 0, failures: 0 };

  constructor(
    kubeConfig: KubeConfig,
    private readonly options: InformerOptions,
    private readonly handlers: InformerHandlers<T>,
  ) {
    this.api = kubeConfig.makeApiClient(CustomObjectsApi);
    this.watcher = new Watch(kubeConfig);
    this.synced = new Promise((resolve) => (this.syncedResolve = resolve));
  }

  /** What the store keeps: the object without metadata.managedFields (never read, often most of it). */
  private slim(object: T): T {
    const metadata = object.metadata as ResourceMetadata & { managedFields?: unknown };
    if (metadata.managedFields === undefined) return object;
    const rest: ResourceMetadata & { managedFields?: unknown } = { ...metadata };
    delete rest.managedFields;
    return { ...object, metadata: rest };
  }

  get(key: string): T | undefined {
    return this.store.get(key);
  }

  list(): T[] {
    return [...this.store.values()];
  }

  /**
   * Records an object this process wrote or read (the API server's answer) over the cached copy,
   * unless the cache is newer or no longer holds the object.
   */
  observe(object: T): void {
    const key = objectKey(object.metadata);
    const current = this.store.get(key);
    // Only refreshes a cached object: one the watch removed stays removed (no ghosts).
    if (current === undefined || current.metadata.uid !== object.metadata.uid) return;
    if (!isNewer(object.metadata.resourceVersion, current.metadata.resourceVersion)) return;
    this.store.set(key, this.slim(object));
  }

  /**
   * Drops the current watch and watches again, from `resourceVersion` when given (as a reconnect
   * with a remembered version would), else from the last version seen. For diagnostics and tests:
   * a version older than etcd's window reproduces an expired watch (410 Gone).
   */
  rewatch(resourceVersion?: string): void {
    if (resourceVersion !== undefined) this.pendingResourceVersion = resourceVersion;
    this.rewatching = true;
    this.abort?.abort();
  }

  start(): this {
    this.loop ??= this.run();
    return this;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort?.abort();
    this.wake?.();
    await this.loop;
  }

  private isStopped(): boolean {
    return this.stopped;
  }

  private get path(): string {
    const { group, version, plural, namespace } = this.options;
    return namespace === undefined
      ? `/apis/${group}/${version}/${plural}`
      : `/apis/${group}/${version}/namespaces/${namespace}/${plural}`;
  }

  private async run(): Promise<void> {
    const backoff = this.options.backoffMs ?? { initial: 200, max: 30_000 };
    let delay = backoff.initial;
    while (!this.stopped) {
      try {
        if (this.pendingResourceVersion !== undefined) {
          this.resourceVersion = this.pendingResourceVersion;
          this.pendingResourceVersion = undefined;
        }
        if (this.resourceVersion === undefined) await this.relist();
        await this.watchOnce();
        this.rewatching = false;
        delay = backoff.initial;
      } catch (error) {
        if (this.isStopped()) break;
        if (this.rewatching) {
          this.rewatching = false;
          continue;
        }
        if (error instanceof GoneError || statusCode(error) === 410) {
          this.stats.gone += 1;
          this.options.log?.("watch expired (410 Gone): relisting", { path: this.path }, "warn");
          this.resourceVersion = undefined;
          continue;
        }
        this.stats.failures += 1;
        this.options.log?.(
          "list/watch failed; retrying",
          {
            path: this.path,
            error: (error as Error).message,
            retryInMs: delay,
          },
          "warn",
        );
        await this.sleep(delay * (0.8 + Math.random() * 0.4));
        delay = Math.min(delay * 2, backoff.max);
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private async relist(): Promise<void> {
    this.stats.lists += 1;
    const { group, version, plural, namespace } = this.options;
    const items: T[] = [];
    let token: string | undefined;
    let resourceVersion: string | undefined;
    do {
      const page = (await (namespace === undefined
        ? this.api.listClusterCustomObject({
            group,
            version,
            plural,
            limit: this.options.pageSize ?? 500,
            ...(token === undefined ? {} : { _continue: token }),
          })
        : this.api.listNamespacedCustomObject({
            group,
            version,
            namespace,
            plural,
            limit: this.options.pageSize ?? 500,
            ...(token === undefined ? {} : { _continue: token }),
          }))) as ListResponse;
      for (const item of page.items ?? []) items.push(this.slim(item as T));
      resourceVersion = page.metadata?.resourceVersion;
      token = page.metadata?.continue === "" ? undefined : page.metadata?.continue;
    } while (token !== undefined);

    const seen = new Set<string>();
    for (const item of items) {
      const key = objectKey(item.metadata);
      seen.add(key);
      const previous = this.store.get(key);
      this.store.set(key, item);
      if (previous?.metadata.uid !== undefined && previous.metadata.uid !== item.metadata.uid)
        this.handlers.onDelete(previous);
      this.handlers.onUpsert(
        item,
        previous?.metadata.uid === item.metadata.uid ? previous : undefined,
      );
    }
    for (const [key, previous] of [...this.store]) {
      if (seen.has(key)) continue;
      this.store.delete(key);
      this.handlers.onDelete(previous);
    }
    this.resourceVersion = resourceVersion;
    this.syncedResolve?.();
  }

  private watchOnce(): Promise<void> {
    this.stats.watches += 1;
    return new Promise<void>((resolve, reject) => {
      let controller: AbortController | undefined;
      let settled = false;
      const finish = (error?: unknown): void => {
        if (settled) return;
        settled = true;
        if (error === undefined || error === null) resolve();
        else reject(error instanceof Error ? error : new Error(JSON.stringify(error)));
      };
      const timeoutSeconds = 240 + Math.floor(Math.random() * 120);
      this.watcher
        .watch(
          this.path,
          {
            resourceVersion: this.resourceVersion,
            allowWatchBookmarks: true,
            timeoutSeconds,
          },
          (phase: string, raw: unknown) => {
            if (settled) return;
            if (phase === "ERROR") {
              const status = raw as { code?: number; message?: string };
              // Settle first: aborting makes the watch report an AbortError synchronously.
              if (status.code === 410) finish(new GoneError(status.message ?? "Gone"));
              else finish(new Error(`watch error ${status.code ?? "?"}: ${status.message ?? ""}`));
              controller?.abort();
              return;
            }
            const object = this.slim(raw as T);
            const rv = object.metadata.resourceVersion;
            if (rv !== undefined) this.resourceVersion = rv;
            if (phase === "BOOKMARK") return;
            const key = objectKey(object.metadata);
            const previous = this.store.get(key);
            if (phase === "DELETED") {
              this.store.delete(key);
              this.handlers.onDelete(object);
              return;
            }
            if (
              previous !== undefined &&
              previous.metadata.uid === object.metadata.uid &&
              !isNewer(rv, previous.metadata.resourceVersion) &&
              rv !== previous.metadata.resourceVersion
            ) {
              // Older than what we already have (written by us and observed): keep ours.
              return;
            }
            this.store.set(key, object);
            this.handlers.onUpsert(object, previous);
          },
          (error: unknown) => {
            finish(error);
          },
        )
        .then(
          (abort) => {
            controller = abort;
            this.abort = abort;
            if (this.stopped) abort.abort();
          },
          (error: unknown) => {
            finish(error);
          },
        );
    });
  }
}
