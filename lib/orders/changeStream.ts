import { CdcEvent, CdcOp, OrderLine, isCancellation } from '../cdc/event';
import { parseOrderDate } from '../cdc/orderDate';
import { SeededRandom } from './random';

export interface ChangeMix {
  /** Share of emitted events that update a live line (price, quantity, or a move to another day, country or customer). */
  updates: number;
  /** Share that delete a live line. */
  deletes: number;
  /** Share that redeliver an event already emitted (same lsn: a no-op downstream). */
  duplicates: number;
  /** Share of new changes held back and emitted later, after changes with higher lsn. */
  late: number;
}

export const DEFAULT_CHANGE_MIX: ChangeMix = { updates: 0.08, deletes: 0.02, duplicates: 0.01, late: 0.01 };

export interface ChangeStreamOptions {
  seed?: number;
  /** Stop after this many events; by default when the lines run out. */
  events?: number;
  mix?: Partial<ChangeMix>;
  /** Lsn of the first change; each new change takes the next. */
  firstLsn?: number;
  /** ts_ms of the first event; each later event is 1 ms later. */
  startTimeMs?: number;
  /** The first N lines are a snapshot (`r`), the rest inserts (`c`). */
  snapshotLines?: number;
  /** How many events a late change is held back, at most. */
  maxLateBy?: number;
  /** Updates and deletes pick among this many most recently inserted live lines. */
  liveWindow?: number;
}

export interface ChangeStreamCounts {
  events: number;
  inserts: number;
  snapshots: number;
  updates: number;
  deletes: number;
  duplicates: number;
  late: number;
}

export function emptyChangeStreamCounts(): ChangeStreamCounts {
  return { events: 0, inserts: 0, snapshots: 0, updates: 0, deletes: 0, duplicates: 0, late: 0 };
}

const SOURCE = { db: 'shop', table: 'order_lines' } as const;

/**
 * CDC events over order lines: inserts (or snapshot reads) with increasing `source.lsn`, mixed with
 * updates and deletes of lines already inserted, redelivered duplicates and late (out-of-order)
 * events, in the proportions of `mix`. Deterministic for a seed.
 */
export function* changeStream(
  lines: Iterable<OrderLine>,
  options: ChangeStreamOptions = {},
  counts: ChangeStreamCounts = emptyChangeStreamCounts(),
): Generator<CdcEvent> {
  const random = new SeededRandom(options.seed ?? 1);
  const mix = { ...DEFAULT_CHANGE_MIX };
  for (const [name, share] of Object.entries(options.mix ?? {}) as [keyof ChangeMix, number | undefined][]) {
    if (share !== undefined) mix[name] = share;
  }
  const limit = options.events ?? Infinity;
  const maxLateBy = options.maxLateBy ?? 200;
  const liveWindow = options.liveWindow ?? 50_000;
  const snapshotLines = options.snapshotLines ?? 0;
  const firstLsn = options.firstLsn ?? 1;
  let lsn = firstLsn;
  const startTimeMs = options.startTimeMs ?? Date.UTC(2019, 11, 9);
  const source = lines[Symbol.iterator]();
  // Live lines (a bounded sample of the recent ones); updates and deletes draw from here.
  const live: OrderLine[] = [];
  const recent: CdcEvent[] = [];
  const held: { due: number; event: CdcEvent }[] = [];
  let sourceDone = false;
  let inserted = 0;

  const emit = (event: CdcEvent): CdcEvent => {
    counts.events++;
    recent.push(event);
    if (recent.length > 1000) recent.shift();
    return event;
  };

  const change = (op: CdcOp, before: OrderLine | null, after: OrderLine | null): CdcEvent => ({
    op,
    ts_ms: startTimeMs + (lsn - firstLsn),
    source: { ...SOURCE, lsn: lsn++ },
    before,
    after,
  });

  // Held-back changes count toward the limit, so every lsn handed out is emitted.
  while (counts.events + held.length < limit) {
    const dueIndex = held.findIndex((h) => h.due <= counts.events);
    if (dueIndex >= 0) {
      yield emit(held.splice(dueIndex, 1)[0].event);
      continue;
    }
    const roll = random.next();
    if (roll < mix.duplicates && recent.length > 0) {
      counts.duplicates++;
      yield emit(random.pick(recent));
      continue;
    }

    let event: CdcEvent | undefined;
    if (roll < mix.duplicates + mix.updates + mix.deletes && live.length > 0) {
      const index = random.int(0, live.length - 1);
      const current = live[index];
      if (roll < mix.duplicates + mix.updates) {
        const next = updated(current, random);
        live[index] = next;
        counts.updates++;
        event = change('u', current, next);
      } else {
        live[index] = live[live.length - 1];
        live.pop();
        counts.deletes++;
        event = change('d', current, null);
      }
    } else if (!sourceDone) {
      const next = source.next();
      if (next.done) {
        sourceDone = true;
        if (live.length === 0 || limit === Infinity) break;
        continue;
      }
      const line = next.value;
      const snapshot = inserted++ < snapshotLines;
      if (snapshot) counts.snapshots++;
      else counts.inserts++;
      if (live.length < liveWindow) live.push(line);
      else live[random.int(0, liveWindow - 1)] = line;
      event = change(snapshot ? 'r' : 'c', null, line);
    } else if (live.length === 0 || mix.updates + mix.deletes === 0) {
      break;
    } else {
      continue;
    }

    if (random.chance(mix.late)) {
      counts.late++;
      held.push({ due: counts.events + random.int(1, maxLateBy), event });
      continue;
    }
    yield emit(event);
  }
  // Whatever is still held back is late, not lost.
  for (const { event } of held.splice(0)) yield emit(event);
}

/** A later version of a line: mostly a new quantity or price, sometimes moved to another day, country or customer. */
function updated(line: OrderLine, random: SeededRandom): OrderLine {
  const next = { ...line };
  const roll = random.next();
  if (roll < 0.6) {
    const units = random.int(1, 24);
    next.Quantity = isCancellation(line.TransactionNo) ? -units : units;
  } else if (roll < 0.8) {
    next.Price = Math.round(line.Price * (0.8 + random.next() * 0.4) * 100) / 100;
  } else if (roll < 0.9) {
    const moved = new Date(`${parseOrderDate(line.Date)}T00:00:00Z`);
    moved.setUTCDate(moved.getUTCDate() + random.int(1, 3));
    next.Date = `${moved.getUTCMonth() + 1}/${moved.getUTCDate()}/${moved.getUTCFullYear()}`;
  } else if (roll < 0.95) {
    next.Country = random.pick(['France', 'Germany', 'EIRE', 'Netherlands']);
  } else {
    next.CustomerNo = String(random.int(12004, 18287));
  }
  return next;
}
