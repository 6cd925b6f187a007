// Injected I2C faults (docs/api.md, docs/controller.md).

export const FAULT_KINDS = ['nack', 'timeout', 'stretch', 'corrupt', 'ignore'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];
export type FaultOp = 'read' | 'write' | 'any';

export interface FaultRuleInput {
  kind: FaultKind;
  op?: FaultOp;
  /** Registers the rule applies to; absent or empty = all. */
  registers?: number[];
  /** How many transactions it affects; 0 = unlimited. Default 1. */
  count?: number;
  probability?: number;
  delay_ms?: number;
}

export interface FaultRule {
  id: number;
  kind: FaultKind;
  op: FaultOp;
  registers: number[];
  count: number;
  probability: number;
  delay_ms: number;
}

export class FaultTable {
  private rules: FaultRule[] = [];
  private nextId = 1;
  /** Triggers still owed by each counted rule. */
  private remaining = new Map<number, number>();

  constructor(private readonly random: () => number = Math.random) {}

  add(input: FaultRuleInput): FaultRule {
    const rule: FaultRule = {
      id: this.nextId++,
      kind: input.kind,
      op: input.op ?? 'any',
      registers: input.registers ?? [],
      count: input.count ?? 1,
      probability: input.probability ?? 1,
      delay_ms: input.delay_ms ?? (input.kind === 'timeout' ? 1000 : input.kind === 'stretch' ? 50 : 0),
    };
    this.rules.push(rule);
    if (rule.count > 0) this.remaining.set(rule.id, rule.count);
    return rule;
  }

  remove(id: number): boolean {
    const before = this.rules.length;
    this.rules = this.rules.filter((r) => r.id !== id);
    this.remaining.delete(id);
    return this.rules.length !== before;
  }

  clear(): void {
    this.rules = [];
    this.remaining.clear();
  }

  /** No rule is set (the simulator then answers a transaction without a turn of the event loop). */
  get empty(): boolean {
    return this.rules.length === 0;
  }

  list(): FaultRule[] {
    return this.rules.map((r) => ({ ...r, registers: [...r.registers] }));
  }

  /** The first rule that fires for this transaction, consuming one of its triggers. */
  match(op: 'read' | 'write', register: number | undefined): FaultRule | undefined {
    for (const rule of this.rules) {
      if (rule.op !== 'any' && rule.op !== op) continue;
      if (rule.kind === 'corrupt' && op !== 'read') continue;
      if (rule.kind === 'ignore' && op !== 'write') continue;
      if (rule.registers.length > 0 && (register === undefined || !rule.registers.includes(register))) continue;
      if (rule.probability < 1 && !(this.random() < rule.probability)) continue;
      if (rule.count > 0) {
        const left = (this.remaining.get(rule.id) ?? 0) - 1;
        if (left <= 0) this.remove(rule.id);
        else this.remaining.set(rule.id, left);
      }
      return rule;
    }
    return undefined;
  }
}

/** A small deterministic PRNG (mulberry32) so probabilistic faults repeat in tests. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
