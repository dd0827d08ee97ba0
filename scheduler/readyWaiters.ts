/**
 * Lease calls waiting for tasks of their topics to become ready (long-polls), woken one at a
 * time: when a few tasks become ready, one waiter leases them instead of every waiter racing for
 * them with a script call each (the thundering herd). No wake-up is lost:
 *
 *   - A waiter is registered from the start of its lease round ("leasing") until it parks in
 *     `wait` ("parked") and is woken, or until it returns.
 *   - `notify` wakes the longest-parked waiter of the topic. With none parked, it marks every
 *     leasing one instead: each then leases once more rather than parking, since its round may
 *     have read the queue before the new tasks were in it. (A waiter registering after the
 *     notification reads the queue after the tasks were in it.)
 *   - A woken waiter always leases again before returning. If it returns with as many tasks as
 *     it asked for (more may be ready), or its round failed (the tasks it was woken for may be
 *     untouched), it passes the notification on to one parked waiter (`done`).
 *
 * A notification with no waiter at all is not kept: the next lease call reads the queue anyway.
 */
export class ReadyWaiters {
  private readonly byTopic = new Map<string, Set<ReadyWaiter>>();

  /** A waiter for `topics`, registered as leasing. */
  register(topics: readonly string[]): ReadyWaiter {
    const waiter = new ReadyWaiter(topics, (w) => {
      this.unregister(w);
    });
    for (const topic of topics) {
      let set = this.byTopic.get(topic);
      if (set === undefined) {
        set = new Set();
        this.byTopic.set(topic, set);
      }
      set.add(waiter);
    }
    return waiter;
  }

  /** Tasks of `topic` became ready (see the class comment). */
  notify(topic: string): void {
    const set = this.byTopic.get(topic);
    if (set === undefined) return;
    // Sets iterate in insertion order, and a waiter registers anew for each round: the first
    // parked one has waited longest.
    for (const waiter of set) {
      if (waiter.parked) {
        waiter.wake();
        return;
      }
    }
    for (const waiter of set) waiter.mark();
  }

  /** Wakes every waiter (the scheduler is stopping). */
  wakeAll(): void {
    for (const set of this.byTopic.values()) for (const waiter of [...set]) waiter.wake();
  }

  /**
   * A waiter returns to its caller with `leased` tasks of the `asked` it wanted, or after its
   * round `failed`: unregisters it and, when more may be ready or its round failed, passes the
   * notification on (see the class comment).
   */
  done(waiter: ReadyWaiter, leased: number, asked: number, failed = false): void {
    this.unregister(waiter);
    if (failed || (leased > 0 && leased >= asked)) {
      for (const topic of waiter.topics) this.notify(topic);
    }
  }

  /** Waiters registered now, for tests. */
  get size(): number {
    const all = new Set<ReadyWaiter>();
    for (const set of this.byTopic.values()) for (const waiter of set) all.add(waiter);
    return all.size;
  }

  private unregister(waiter: ReadyWaiter): void {
    for (const topic of waiter.topics) {
      const set = this.byTopic.get(topic);
      set?.delete(waiter);
      if (set?.size === 0) this.byTopic.delete(topic);
    }
  }
}

/** One lease round's registration in ReadyWaiters. */
export class ReadyWaiter {
  /** Notified while leasing: it leases again instead of parking. */
  marked = false;
  parked = false;
  private woken = false;
  private resume: (() => void) | undefined;

  constructor(
    readonly topics: readonly string[],
    private readonly unregister: (waiter: ReadyWaiter) => void,
  ) {}

  mark(): void {
    this.marked = true;
  }

  wake(): void {
    this.woken = true;
    this.resume?.();
  }

  /**
   * Parks until woken, `ms` pass or `signal` aborts; at once if notified meanwhile. Unregisters
   * the waiter either way: the caller registers a new one for its next round.
   */
  wait(ms: number, signal?: AbortSignal): Promise<void> {
    if (this.woken || this.marked || signal?.aborted === true || ms <= 0) {
      this.unregister(this);
      return Promise.resolve();
    }
    this.parked = true;
    return new Promise<void>((resolve) => {
      const finish = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", finish);
        this.parked = false;
        this.resume = undefined;
        this.unregister(this);
        resolve();
      };
      const timer = setTimeout(finish, ms);
      signal?.addEventListener("abort", finish, { once: true });
      this.resume = finish;
    });
  }
}
