/**
 * Keeps the lanes in message order while a Kafka partition's messages are fanned out concurrently: each
 * message takes a ticket for its application (in offset order, before its fan-out awaits anything) and puts
 * its deliveries in their lanes only once the message before it (same application) has put its own, or had
 * none. A message whose fan-out failed (the service is stopping) fails every ticket after it, so none is put
 * in a lane ahead of it: after the restart they are all fanned out again, in order.
 */
export class LaneOrder {
  private readonly last = new Map<string, Promise<void>>();

  enter(key: string): { turn: () => Promise<void>; leave: (ok: boolean) => void } {
    const before = this.last.get(key) ?? Promise.resolve();
    let leave!: (ok: boolean) => void;
    const mine = new Promise<void>((resolve, reject) => {
      leave = (ok) => {
        if (!ok) return reject(new Error('a message before this one in its lane was not put in it'));
        // (a ticket leaves once; what comes after follows the one before it too)
        before.then(resolve, reject);
      };
    });
    // (nobody may be waiting on this ticket: its failure must not surface as unhandled)
    mine.catch(() => undefined);
    this.last.set(key, mine);
    void mine.finally(() => {
      if (this.last.get(key) === mine) this.last.delete(key);
    }).catch(() => undefined);
    return { turn: () => before, leave: (ok) => leave(ok) };
  }
}
