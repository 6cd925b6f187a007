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

// A bucket's fields, interleaved: one 64-byte record per slot in one buffer, so a reading
// touches one or two cache lines of each ring instead of a line in each of 17 arrays (measured:
// less CPU per tick for an idle daemon, whose tick finds its data out of the caches).
const RECORD = 64;
// Float64 fields (index within the record's 8 doubles).
const KEY = 0;
const WALL = 1;
// Float32 fields (index within the record's 16 floats; bytes 16–55).
const VIN_MIN = 4;
const VIN_MAX = 5;
const VIN_SUM = 6;
const VCAP_MIN = 7;
const VCAP_MAX = 8;
const VCAP_SUM = 9;
const IIN_MAX = 10;
const IIN_SUM = 11;
const TMCU_SUM = 12;
const TPCB_SUM = 13;
// Uint16 counts (index within the record's 32 halves; bytes 56–61).
const VIN_N = 28;
const AUX_N = 29;
const T_N = 30;
// Bytes 62 and 63: bit i of STATES says DAEMON_STATES[i] was seen in the bucket; LAST is the
// index of the last state seen.
const STATES = 62;
const LAST = 63;

/** One ring of buckets, `slots` long, `bucketMs` each. */
export class HistoryRing {
  private readonly f64: Float64Array;
  private readonly f32: Float32Array;
  private readonly u16: Uint16Array;
  private readonly u8: Uint8Array;
  /** The newest bucket number written (-1: none). */
  newest = -1;

  constructor(
    readonly bucketMs: number,
    readonly slots: number,
  ) {
    const buffer = new ArrayBuffer(slots * RECORD);
    this.f64 = new Float64Array(buffer);
    this.f32 = new Float32Array(buffer);
    this.u16 = new Uint16Array(buffer);
    this.u8 = new Uint8Array(buffer);
    // KEY holds the bucket number + 1, so that the zeroed buffer reads as "no bucket yet" without
    // a pass over it: its pages are then touched only as buckets are written, not all 1.2 MB of
    // them at start.
  }

  /** Bytes of typed storage: what the ring costs, whatever it holds. */
  get bytes(): number {
    return this.u8.byteLength;
  }

  /** The slot of the bucket holding monotonic time `mono`, cleared if it held an older bucket. */
  slot(mono: number, wall: number): number {
    const k = Math.floor(mono / this.bucketMs);
    const i = k % this.slots;
    const d = i * 8;
    if (this.f64[d + KEY] !== k + 1) {
      this.f64[d + KEY] = k + 1;
      // Labelled with the wall time of the bucket's start, as this reading's wall clock has it.
      this.f64[d + WALL] = wall - (mono - k * this.bucketMs);
      // Everything else is zero, as a new bucket starts (minima and maxima are set by the
      // first reading; LAST is overwritten by the state noted now).
      this.f32.fill(0, i * 16 + VIN_MIN, i * 16 + TPCB_SUM + 1);
      const h = i * 32;
      this.u16[h + VIN_N] = 0;
      this.u16[h + AUX_N] = 0;
      this.u16[h + T_N] = 0;
      this.u8[i * RECORD + STATES] = 0;
    }
    if (k > this.newest) this.newest = k;
    return i;
  }

  vin(mono: number, wall: number, v: number, state: number): void {
    const i = this.slot(mono, wall);
    const f = this.f32;
    const b = i * 16;
    const n = this.u16[i * 32 + VIN_N]!;
    if (n === 0 || v < f[b + VIN_MIN]!) f[b + VIN_MIN] = v;
    if (n === 0 || v > f[b + VIN_MAX]!) f[b + VIN_MAX] = v;
    f[b + VIN_SUM] = f[b + VIN_SUM]! + v;
    if (n < 0xffff) this.u16[i * 32 + VIN_N] = n + 1;
    this.state(i, state);
  }

  aux(mono: number, wall: number, vcap: number, iin: number, tMcu: number, tPcb: number, state: number): void {
    const i = this.slot(mono, wall);
    const f = this.f32;
    const b = i * 16;
    const h = i * 32;
    if (Number.isFinite(vcap) && Number.isFinite(iin)) {
      const n = this.u16[h + AUX_N]!;
      if (n === 0 || vcap < f[b + VCAP_MIN]!) f[b + VCAP_MIN] = vcap;
      if (n === 0 || vcap > f[b + VCAP_MAX]!) f[b + VCAP_MAX] = vcap;
      f[b + VCAP_SUM] = f[b + VCAP_SUM]! + vcap;
      if (iin > f[b + IIN_MAX]!) f[b + IIN_MAX] = iin;
      f[b + IIN_SUM] = f[b + IIN_SUM]! + iin;
      if (n < 0xffff) this.u16[h + AUX_N] = n + 1;
    }
    if (Number.isFinite(tMcu) && Number.isFinite(tPcb)) {
      f[b + TMCU_SUM] = f[b + TMCU_SUM]! + tMcu;
      f[b + TPCB_SUM] = f[b + TPCB_SUM]! + tPcb;
      if (this.u16[h + T_N]! < 0xffff) this.u16[h + T_N] = this.u16[h + T_N]! + 1;
    }
    this.state(i, state);
  }

  state(i: number, state: number): void {
    const o = i * RECORD;
    this.u8[o + STATES] = this.u8[o + STATES]! | (1 << state);
    this.u8[o + LAST] = state;
  }

  /** The bucket number held in slot `i` (-1: none yet). */
  key(i: number): number {
    return this.f64[i * 8 + KEY]! - 1;
  }

  /** The wall time (Unix ms) the bucket in slot `i` is labelled with. */
  wall(i: number): number {
    return this.f64[i * 8 + WALL]!;
  }

  /** Float32 field `field` of slot `i`. */
  num(i: number, field: number): number {
    return this.f32[i * 16 + field]!;
  }

  /** Count `field` (VIN_N, AUX_N, T_N) of slot `i`. */
  count(i: number, field: number): number {
    return this.u16[i * 32 + field]!;
  }

  /** Byte `field` (STATES, LAST) of slot `i`. */
  byte(i: number, field: number): number {
    return this.u8[i * RECORD + field]!;
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
  private stateIx = STATE_INDEX.get('START')!;

  /** Bytes of typed storage of both rings (the 2 MiB bound). */
  get bytes(): number {
    return this.fine.bytes + this.coarse.bytes;
  }

  /** A tick's V_in; a full-scale or non-finite reading (a read error) is not a reading. */
  noteVin(mono: number, wall: number, vin: number): void {
    if (!(vin >= 0 && vin < VIN_FULL_SCALE_V)) return;
    this.at(mono);
    this.fine.vin(mono, wall, vin, this.stateIx);
    this.coarse.vin(mono, wall, vin, this.stateIx);
  }

  /**
   * The same, asking `wallNow` for the wall clock only when the reading begins a bucket (the
   * wall time labels the bucket, nothing else): once a second for ten ticks. `Date.now()` is a
   * call into V8's runtime, and an idle daemon's tick finds that path out of the caches.
   */
  noteVinAt(mono: number, wallNow: () => number, vin: number): void {
    if (!(vin >= 0 && vin < VIN_FULL_SCALE_V)) return;
    // The newest 1 s bucket is this second's: begun, and the 5 s bucket around it with it (every
    // note writes both rings).
    const begun = Math.floor(mono / FINE_BUCKET_MS) === this.fine.newest;
    this.noteVin(mono, begun ? NaN : wallNow(), vin);
  }

  /** V_cap and I_in (NaN: not read), and the temperatures (NaN: not read). */
  noteAux(mono: number, wall: number, vcap: number, iin: number, tMcu = NaN, tPcb = NaN): void {
    this.at(mono);
    this.fine.aux(mono, wall, vcap, iin, tMcu, tPcb, this.stateIx);
    this.coarse.aux(mono, wall, vcap, iin, tMcu, tPcb, this.stateIx);
    const open = this.openRecord;
    if (open && Number.isFinite(vcap) && (open.min_V_cap === null || vcap < open.min_V_cap))
      open.min_V_cap = round(vcap, 3);
  }

  /** The daemon's state changed: marked in the buckets of this moment. */
  noteState(mono: number, wall: number, state: DaemonState): void {
    this.stateIx = STATE_INDEX.get(state)!;
    this.at(mono);
    this.fine.state(this.fine.slot(mono, wall), this.stateIx);
    this.coarse.state(this.coarse.slot(mono, wall), this.stateIx);
  }

  blackoutStarted(mono: number, wall: number): void {
    if (this.openAt !== null) this.blackoutEnded(mono, 'stopped');
    this.at(mono);
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

  private at(mono: number): void {
    this.lastMono = mono;
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
      if (ring.key(i) !== k || ring.wall(i) < sinceWall) continue;
      const vn = ring.count(i, VIN_N);
      const an = ring.count(i, AUX_N);
      const tn = ring.count(i, T_N);
      const states = ring.byte(i, STATES);
      out.t.push(round(ring.wall(i) / 1000, 3));
      out.V_in.push(vn ? round(ring.num(i, VIN_SUM) / vn, 3) : null);
      out.V_in_min.push(vn ? round(ring.num(i, VIN_MIN), 3) : null);
      out.V_in_max.push(vn ? round(ring.num(i, VIN_MAX), 3) : null);
      out.V_cap.push(an ? round(ring.num(i, VCAP_SUM) / an, 3) : null);
      out.V_cap_min.push(an ? round(ring.num(i, VCAP_MIN), 3) : null);
      out.V_cap_max.push(an ? round(ring.num(i, VCAP_MAX), 3) : null);
      out.I_in.push(an ? round(ring.num(i, IIN_SUM) / an, 3) : null);
      out.I_in_max.push(an ? round(ring.num(i, IIN_MAX), 3) : null);
      out.T_mcu.push(tn ? round(ring.num(i, TMCU_SUM) / tn, 1) : null);
      out.T_pcb.push(tn ? round(ring.num(i, TPCB_SUM) / tn, 1) : null);
      out.daemon_state.push(states ? DAEMON_STATES[ring.byte(i, LAST)]! : null);
      out.blackout.push(states & BLACKOUT_BIT ? 1 : 0);
    }
    return out;
  }

  /** Wall time (Unix ms) of the oldest live bucket of a ring, or null when it is empty. */
  private oldestWall(ring: HistoryRing): number | null {
    if (ring.newest < 0) return null;
    for (let k = Math.max(0, ring.newest - ring.slots + 1); k <= ring.newest; k++) {
      const i = k % ring.slots;
      if (ring.key(i) === k) return ring.wall(i);
    }
    return null;
  }
}
