// Serialised, coalesced saves. Each caller of commit() has just changed the in-memory state and must not be
// answered before a save that began after its change has finished. Saves never overlap (two at once could let
// an older snapshot land after a newer one), and callers who arrive while one runs share the next save.
export class GroupCommit {
  private requested = 0;
  private started = 0;
  private running: Promise<void> | undefined;
  private readonly waiters: Array<{ ticket: number; resolve: () => void; reject: (e: unknown) => void }> = [];

  constructor(private readonly save: () => Promise<void>) {}

  /** Resolves once a save that started after this call has completed; rejects if that save failed. */
  commit(): Promise<void> {
    const ticket = ++this.requested;
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ ticket, resolve, reject }));
    this.running ??= this.loop();
    return done;
  }

  private async loop(): Promise<void> {
    while (this.started < this.requested) {
      const covers = (this.started = this.requested);
      let failure: unknown;
      try {
        await this.save();
      } catch (error) {
        failure = error;
      }
      for (let i = this.waiters.length - 1; i >= 0; i--) {
        const w = this.waiters[i]!;
        if (w.ticket > covers) continue;
        this.waiters.splice(i, 1);
        if (failure === undefined) w.resolve();
        else w.reject(failure);
      }
    }
    this.running = undefined;
  }

  /** Waits for any save in progress (at shutdown). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }
}
