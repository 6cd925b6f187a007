// The last 24 hours of readings, in memory (docs/api.md, GET /history). Fed by what the engine
// reads anyway (its ticks and the measurement blocks), never by a bus read of its own.
//
// Two rings of fixed-size buckets in typed arrays, allocated once: 1 s buckets for the last
// 15 minutes (what the panel's chart shows) and 5 s buckets for 24 hours. Each bucket keeps the
// minimum, maximum and mean of V_in and V_cap, the mean and maximum of I_in, the mean
// temperatures and the daemon states seen in it, so a short blackout still shows in a 5 s
// bucket. Adding a reading writes into the arrays and allocates nothing; a bucket whose slot
// comes round again is cleared first (wraparound). Times are bucketed on the monotonic clock and
// labelled with the wall clock, so a clock step does not reorder the buckets.

import { DAEMON_STATES, VIN_FULL_SCALE_V, type DaemonState } from './supervisor.js';

export const FINE_BUCKET_MS = 1000;
export const FINE_SLOTS = 15 * 60;
export const COARSE_BUCKET_MS = 5000;
export const COARSE_SLOTS = (24 * 3600 * 1000) / COARSE_BUCKET_MS;
/** Past blackouts kept (the newest; older ones are dropped). */
export const MAX_BLACKOUTS = 100;

export type BlackoutOutcome = 'ongoing' | 'power_returned' | 'shutdown' | 'stopped';

export interface BlackoutRecord {
  /** Unix ms at which the blackout was detected. */
  start: number;
  /** Seconds from detection to its end; for an ongoing blackout, so far. */
  duration: number;
  outcome: BlackoutOutcome;
  /** The lowest supercap voltage read during it (V), or null when none was read. */
  min_V_cap: number | null;
}

const STATE_INDEX = new Map<DaemonState, number>(DAEMON_STATES.map((s, i) => [s, i]));
const BLACKOUT_BIT = 1 << STATE_INDEX.get('BLACKOUT')!;

/** One ring of buckets, `slots` long, `bucketMs` each. */
export class HistoryRing {
  readonly key: Float64Array;
  readonly wall: Float64Array;
  readonly vinMin: Float32Array;
  readonly vinMax: Float32Array;
  readonly vinSum: Float32Array;
  readonly vcapMin: Float32Array;
  readonly vcapMax: Float32Array;
  readonly vcapSum: Float32Array;
  readonly iinMax: Float32Array;
  readonly iinSum: Float32Array;
  readonly tMcuSum: Float32Array;
  readonly tPcbSum: Float32Array;
  readonly vinN: Uint16Array;
  readonly auxN: Uint16Array;
  readonly tN: Uint16Array;
  /** Bit i: DAEMON_STATES[i] was seen in the bucket. */
  readonly states: Uint8Array;
  /** Index in DAEMON_STATES of the last state seen in the bucket. */
  readonly last: Uint8Array;
  /** The newest bucket number written (-1: none). */
  newest = -1;

  constructor(
    readonly bucketMs: number,
    readonly slots: number,
  ) {
    this.key = new Float64Array(slots).fill(-1);
    this.wall = new Float64Array(slots);
    const f32 = () => new Float32Array(slots);
    this.vinMin = f32();
    this.vinMax = f32();
    this.vinSum = f32();
    this.vcapMin = f32();
    this.vcapMax = f32();
    this.vcapSum = f32();
    this.iinMax = f32();
    this.iinSum = f32();
    this.tMcuSum = f32();
    this.tPcbSum = f32();
    this.vinN = new Uint16Array(slots);
    this.auxN = new Uint16Array(slots);
    this.tN = new Uint16Array(slots);
    this.states = new Uint8Array(slots);
    this.last = new Uint8Array(slots);
  }

  /** Bytes of typed storage: what the ring costs, whatever it holds. */
  get bytes(): number {
    let n = 0;
    for (const a of [
      this.key,
      this.wall,
      this.vinMin,
      this.vinMax,
      this.vinSum,
      this.vcapMin,
      this.vcapMax,
      this.vcapSum,
      this.iinMax,
      this.iinSum,
      this.tMcuSum,
      this.tPcbSum,
      this.vinN,
      this.auxN,
      this.tN,
      this.states,
      this.last,
    ])
      n += a.byteLength;
    return n;
  }

  /** The slot of the bucket holding monotonic time `mono`, cleared if it held an older bucket. */
  slot(mono: number, wall: number): number {
    const k = Math.floor(mono / this.bucketMs);
    const i = k % this.slots;
    if (this.key[i] !== k) {
      this.key[i] = k;
      // Labelled with the wall time of the bucket's start, as this reading's wall clock has it.
      this.wall[i] = wall - (mono - k * this.bucketMs);
      this.vinN[i] = 0;
      this.auxN[i] = 0;
      this.tN[i] = 0;
      this.vinSum[i] = 0;
      this.vcapSum[i] = 0;
      this.iinSum[i] = 0;
      this.iinMax[i] = 0;
      this.tMcuSum[i] = 0;
      this.tPcbSum[i] = 0;
      this.states[i] = 0;
    }
    if (k > this.newest) this.newest = k;
    return i;
  }

  vin(mono: number, wall: number, v: number, state: number): void {
    const i = this.slot(mono, wall);
    const n = this.vinN[i]!;
    if (n === 0 || v < this.vinMin[i]!) this.vinMin[i] = v;
    if (n === 0 || v > this.vinMax[i]!) this.vinMax[i] = v;
    this.vinSum[i] = this.vinSum[i]! + v;
    if (n < 0xffff) this.vinN[i] = n + 1;
    this.state(i, state);
  }

  aux(mono: number, wall: number, vcap: number, iin: number, tMcu: number, tPcb: number, state: number): void {
    const i = this.slot(mono, wall);
    if (Number.isFinite(vcap) && Number.isFinite(iin)) {
      const n = this.auxN[i]!;
      if (n === 0 || vcap < this.vcapMin[i]!) this.vcapMin[i] = vcap;
      if (n === 0 || vcap > this.vcapMax[i]!) this.vcapMax[i] = vcap;
      this.vcapSum[i] = this.vcapSum[i]! + vcap;
      if (iin > this.iinMax[i]!) this.iinMax[i] = iin;
      this.iinSum[i] = this.iinSum[i]! + iin;
      if (n < 0xffff) this.auxN[i] = n + 1;
    }
    if (Number.isFinite(tMcu) && Number.isFinite(tPcb)) {
      this.tMcuSum[i] = this.tMcuSum[i]! + tMcu;
      this.tPcbSum[i] = this.tPcbSum[i]! + tPcb;
      if (this.tN[i]! < 0xffff) this.tN[i] = this.tN[i]! + 1;
    }
    this.state(i, state);
  }

  state(i: number, state: number): void {
    this.states[i] = this.states[i]! | (1 << state);
    this.last[i] = state;
  }
}

/** One bucket as the API gives it (docs/api.md); values in V, A and K, null when none was read. */
export interface HistoryColumns {
  /** Seconds per bucket. */
  step: number;
  /** Bucket start, Unix seconds. */
  t: number[];
  V_in: Array<number | null>;
  V_in_min: Array<number | null>;
  V_in_max: Array<number | null>;
  V_cap: Array<number | null>;
  V_cap_min: Array<number | null>;
  V_cap_max: Array<number | null>;
  I_in: Array<number | null>;
  I_in_max: Array<number | null>;
  T_mcu: Array<number | null>;
  T_pcb: Array<number | null>;
  /** The daemon's state at the bucket's end. */
  daemon_state: Array<DaemonState | null>;
  /** 1 when the daemon was in BLACKOUT at any time in the bucket. */
  blackout: Array<0 | 1>;
}

const round = (v: number, digits: number): number => {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
};

export class History {
  readonly fine = new HistoryRing(FINE_BUCKET_MS, FINE_SLOTS);
  readonly coarse = new HistoryRing(COARSE_BUCKET_MS, COARSE_SLOTS);
  private readonly list: BlackoutRecord[] = [];
  /** The open blackout's start on the monotonic clock, or null. */
  private openAt: number | null = null;
  private lastMono = 0;
  private lastWall = 0;
  private stateIx = STATE_INDEX.get('START')!;

  /** Bytes of typed storage of both rings (the 2 MiB bound). */
  get bytes(): number {
    return this.fine.bytes + this.coarse.bytes;
  }

  /** A tick's V_in; a full-scale or non-finite reading (a read error) is not a reading. */
  noteVin(mono: number, wall: number, vin: number): void {
    if (!(vin >= 0 && vin < VIN_FULL_SCALE_V)) return;
    this.at(mono, wall);
    this.fine.vin(mono, wall, vin, this.stateIx);
    this.coarse.vin(mono, wall, vin, this.stateIx);
  }

  /** V_cap and I_in (NaN: not read), and the temperatures (NaN: not read). */
  noteAux(mono: number, wall: number, vcap: number, iin: number, tMcu = NaN, tPcb = NaN): void {
    this.at(mono, wall);
    this.fine.aux(mono, wall, vcap, iin, tMcu, tPcb, this.stateIx);
    this.coarse.aux(mono, wall, vcap, iin, tMcu, tPcb, this.stateIx);
    const open = this.openRecord;
    if (open && Number.isFinite(vcap) && (open.min_V_cap === null || vcap < open.min_V_cap))
      open.min_V_cap = round(vcap, 3);
  }

  /** The daemon's state changed: marked in the buckets of this moment. */
  noteState(mono: number, wall: number, state: DaemonState): void {
    this.stateIx = STATE_INDEX.get(state)!;
    this.at(mono, wall);
    this.fine.state(this.fine.slot(mono, wall), this.stateIx);
    this.coarse.state(this.coarse.slot(mono, wall), this.stateIx);
  }

  blackoutStarted(mono: number, wall: number): void {
    if (this.openAt !== null) this.blackoutEnded(mono, 'stopped');
    this.at(mono, wall);
    this.openAt = mono;
    this.list.push({ start: wall, duration: 0, outcome: 'ongoing', min_V_cap: null });
    if (this.list.length > MAX_BLACKOUTS) this.list.shift();
  }

  /** The open blackout ended (no-op when none is open). `durationS` when the supervisor measured it. */
  blackoutEnded(mono: number, outcome: Exclude<BlackoutOutcome, 'ongoing'>, durationS?: number): void {
    const open = this.openRecord;
    if (!open || this.openAt === null) return;
    open.duration = round(durationS ?? (mono - this.openAt) / 1000, 3);
    open.outcome = outcome;
    this.openAt = null;
  }

  private get openRecord(): BlackoutRecord | undefined {
    return this.openAt === null ? undefined : this.list[this.list.length - 1];
  }

  private at(mono: number, wall: number): void {
    this.lastMono = mono;
    this.lastWall = wall;
  }

  /** Past blackouts, oldest first; an ongoing one last, its duration so far as of `mono`. */
  blackouts(mono = this.lastMono): BlackoutRecord[] {
    return this.list.map((b) =>
      b === this.openRecord && this.openAt !== null
        ? { ...b, duration: round(Math.max(0, mono - this.openAt) / 1000, 3) }
        : { ...b },
    );
  }

  /**
   * The buckets that started at or after `sinceWall` (Unix ms), oldest first, from the finest ring
   * that reaches back that far (or as asked: `stepS` 1 or 5).
   */
  columns(sinceWall = -Infinity, stepS?: 1 | 5): HistoryColumns {
    const fineOldest = this.oldestWall(this.fine);
    // The fine ring when it reaches back far enough, or when the coarse one holds nothing older.
    const fineEnough =
      fineOldest !== null &&
      (sinceWall >= fineOldest - FINE_BUCKET_MS || this.oldestWall(this.coarse)! >= fineOldest - COARSE_BUCKET_MS);
    const ring = stepS === 1 ? this.fine : stepS === 5 ? this.coarse : fineEnough ? this.fine : this.coarse;
    const out: HistoryColumns = {
      step: ring.bucketMs / 1000,
      t: [],
      V_in: [],
      V_in_min: [],
      V_in_max: [],
      V_cap: [],
      V_cap_min: [],
      V_cap_max: [],
      I_in: [],
      I_in_max: [],
      T_mcu: [],
      T_pcb: [],
      daemon_state: [],
      blackout: [],
    };
    if (ring.newest < 0) return out;
    const first = Math.max(0, ring.newest - ring.slots + 1);
    for (let k = first; k <= ring.newest; k++) {
      const i = k % ring.slots;
      if (ring.key[i] !== k || ring.wall[i]! < sinceWall) continue;
      const vn = ring.vinN[i]!;
      const an = ring.auxN[i]!;
      const tn = ring.tN[i]!;
      out.t.push(round(ring.wall[i]! / 1000, 3));
      out.V_in.push(vn ? round(ring.vinSum[i]! / vn, 3) : null);
      out.V_in_min.push(vn ? round(ring.vinMin[i]!, 3) : null);
      out.V_in_max.push(vn ? round(ring.vinMax[i]!, 3) : null);
      out.V_cap.push(an ? round(ring.vcapSum[i]! / an, 3) : null);
      out.V_cap_min.push(an ? round(ring.vcapMin[i]!, 3) : null);
      out.V_cap_max.push(an ? round(ring.vcapMax[i]!, 3) : null);
      out.I_in.push(an ? round(ring.iinSum[i]! / an, 3) : null);
      out.I_in_max.push(an ? round(ring.iinMax[i]!, 3) : null);
      out.T_mcu.push(tn ? round(ring.tMcuSum[i]! / tn, 1) : null);
      out.T_pcb.push(tn ? round(ring.tPcbSum[i]! / tn, 1) : null);
      out.daemon_state.push(ring.states[i] ? DAEMON_STATES[ring.last[i]!]! : null);
      out.blackout.push(ring.states[i]! & BLACKOUT_BIT ? 1 : 0);
    }
    return out;
  }

  /** Wall time (Unix ms) of the oldest live bucket of a ring, or null when it is empty. */
  private oldestWall(ring: HistoryRing): number | null {
    if (ring.newest < 0) return null;
    for (let k = Math.max(0, ring.newest - ring.slots + 1); k <= ring.newest; k++) {
      const i = k % ring.slots;
      if (ring.key[i] === k) return ring.wall[i]!;
    }
    return null;
  }

  /** The wall time of the latest reading (Unix ms). */
  get lastWallMs(): number {
    return this.lastWall;
  }
}
