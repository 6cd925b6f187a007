// /sim/...: control of the simulated controller (docs/api.md), served only when the
// backend is the simulator. Bodies follow the framework rules; bad values get
// 400 {"error":"<field> must be <rule>"}.

import type { SimInputs, SimulatedController } from '../simulator/controller.js';
import { FAULT_KINDS, type FaultRuleInput } from '../simulator/faults.js';
import { readJson, rejectShape, sendEmpty, sendError, sendJson, type Ctx } from './http.js';
import { describe, type JsonValue } from './json-parse.js';
import { float, type Out } from './json-write.js';
import type { Route } from './router.js';

type Fields = Map<string, JsonValue>;

class Invalid extends Error {}

/** Answers 422 unless the body is an object. */
async function objectBody(ctx: Ctx, struct: string): Promise<Fields | null> {
  const body = await readJson(ctx);
  if (body === null) return null;
  if (body.t !== 'obj') {
    rejectShape(
      ctx,
      `invalid type: ${describe(body)}, expected struct ${struct} at line ${body.end.line} column ${body.end.col}`,
    );
    return null;
  }
  return body.v;
}

const numberIn = (f: Fields, key: string, min: number, max: number): number | undefined => {
  const v = f.get(key);
  if (v === undefined) return undefined;
  const n = v.t === 'int' ? Number(v.v) : v.t === 'float' ? v.v : NaN;
  if (!(n >= min && n <= max)) throw new Invalid(`${key} must be a number from ${min} to ${max}`);
  return n;
};
const bool = (f: Fields, key: string): boolean | undefined => {
  const v = f.get(key);
  if (v === undefined) return undefined;
  if (v.t !== 'bool') throw new Invalid(`${key} must be a boolean`);
  return v.v;
};
const bytes4 = (f: Fields, key: string): number[] | undefined => {
  const v = f.get(key);
  if (v === undefined) return undefined;
  if (v.t !== 'arr' || v.v.length !== 4 || !v.v.every((b) => b.t === 'int' && b.v >= 0n && b.v <= 255n)) {
    throw new Invalid(`${key} must be an array of 4 bytes`);
  }
  return v.v.map((b) => Number((b as { v: bigint }).v));
};

async function withBody(ctx: Ctx, struct: string, apply: (f: Fields) => void | Out, status = 204): Promise<void> {
  const f = await objectBody(ctx, struct);
  if (f === null) return;
  let result: void | Out;
  try {
    result = apply(f);
  } catch (err) {
    if (err instanceof Invalid) return sendError({ ...ctx, dialect: 5 }, 400, err.message);
    throw err;
  }
  if (result === undefined) sendEmpty(ctx, status);
  else sendJson({ ...ctx, dialect: 5 }, status, result);
}

function snapshot(sim: SimulatedController): Out {
  const s = sim.snapshot();
  const c = s.controller;
  return {
    controller: {
      ...c,
      power_on_threshold: float(c.power_on_threshold),
      solo_power_off_threshold: float(c.solo_power_off_threshold),
    },
    inputs: {
      V_in: float(s.inputs.V_in),
      V_cap: float(s.inputs.V_cap),
      I_in: float(s.inputs.I_in),
      T_mcu: float(s.inputs.T_mcu),
      T_pcb: float(s.inputs.T_pcb),
    },
    host: {
      cm_on: s.host.cm_on,
      load_W: float(s.host.load_W),
      boot_delay_s: float(s.host.boot_delay_s),
      halt_delay_s: float(s.host.halt_delay_s),
      rtc_alarm: s.host.rtc_alarm,
    },
    faults: s.faults.map((r) => ({ ...r, probability: float(r.probability) })),
  };
}

export function simRoutes(sim: SimulatedController, changed: () => void): Route[] {
  const routes: Route[] = [
    { path: '/sim', methods: ['GET'], handle: (ctx) => sendJson({ ...ctx, dialect: 5 }, 200, snapshot(sim)) },
    {
      path: '/sim/inputs',
      methods: ['PUT'],
      handle: (ctx) =>
        withBody(ctx, 'SimInputs', (f) => {
          const inputs: Partial<SimInputs> = {};
          const set = <K extends keyof SimInputs>(k: K, v: SimInputs[K] | undefined) => {
            if (v !== undefined) inputs[k] = v;
          };
          set('V_in', numberIn(f, 'V_in', 0, 40));
          set('V_cap', numberIn(f, 'V_cap', 0, 11));
          set('I_in', f.get('I_in')?.t === 'null' ? null : numberIn(f, 'I_in', 0, 3.3));
          set('T_mcu', numberIn(f, 'T_mcu', 200, 400));
          set('T_pcb', numberIn(f, 'T_pcb', 200, 400));
          const hold = bool(f, 'hold'); // our addition: freeze the supercap model so values stay exact
          if (hold !== undefined) sim.hold(hold);
          sim.setInputs(inputs);
        }),
    },
    {
      path: '/sim/power',
      methods: ['POST'],
      handle: (ctx) =>
        withBody(ctx, 'SimPower', (f) => {
          const on = bool(f, 'on');
          if (on === undefined) throw new Invalid('on must be a boolean');
          sim.setPower(on);
        }),
    },
    {
      path: '/sim/host',
      methods: ['PUT'],
      handle: (ctx) =>
        withBody(ctx, 'SimHost', (f) => {
          const settings = {
            cm_on: bool(f, 'cm_on'),
            load_W: numberIn(f, 'load_W', 0, 30),
            boot_delay_s: numberIn(f, 'boot_delay_s', 0, 600),
            halt_delay_s: numberIn(f, 'halt_delay_s', 0, 600),
          };
          sim.setHost(Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined)));
        }),
    },
    {
      path: '/sim/controller',
      methods: ['PUT'],
      handle: (ctx) =>
        withBody(ctx, 'SimController', (f) => {
          const id = f.get('device_id');
          if (id !== undefined && (id.t !== 'str' || !/^[0-9a-fA-F]{16}$/.test(id.v)))
            throw new Invalid('device_id must be 16 hex digits');
          const identity = {
            firmware_version: bytes4(f, 'firmware_version'),
            hardware_version: bytes4(f, 'hardware_version'),
            device_id: id?.t === 'str' ? id.v.toLowerCase() : undefined,
            test_mode: bool(f, 'test_mode'),
          };
          sim.setIdentity(Object.fromEntries(Object.entries(identity).filter(([, v]) => v !== undefined)));
        }),
    },
    {
      path: '/sim/button',
      methods: ['POST'],
      handle: (ctx) =>
        withBody(ctx, 'SimButton', (f) => {
          const a = f.get('action');
          if (a?.t !== 'str' || !['click', 'press', 'release'].includes(a.v))
            throw new Invalid('action must be one of click, press, release');
          sim.button(a.v as 'click' | 'press' | 'release');
        }),
    },
    {
      path: '/sim/reset',
      methods: ['POST'],
      handle: (ctx) => {
        ctx.req.resume();
        sim.mcuReset();
        sendEmpty(ctx, 204);
      },
    },
    {
      path: '/sim/faults',
      methods: ['GET', 'POST', 'DELETE'],
      handle: async (ctx) => {
        if (ctx.req.method === 'DELETE') {
          ctx.req.resume();
          sim.faults.clear();
          return sendEmpty(ctx, 204);
        }
        if (ctx.req.method !== 'POST')
          return sendJson({ ...ctx, dialect: 5 }, 200, (snapshot(sim) as { faults: Out }).faults);
        await withBody(ctx, 'FaultRule', (f) => ({ id: sim.addFault(faultRule(f)).id }), 201);
      },
    },
    {
      path: '/sim/faults/:id',
      methods: ['DELETE'],
      handle: (ctx) => {
        ctx.req.resume();
        const id = ctx.params.id!;
        if (!/^[0-9]+$/.test(id) || !sim.faults.remove(Number(id)))
          return sendError({ ...ctx, dialect: 5 }, 404, `Unknown fault id: ${id}`);
        sendEmpty(ctx, 204);
      },
    },
  ];
  // Every control changes what the controller reports: readers must not get an older block.
  return routes.map((r) => ({
    ...r,
    handle: async (ctx: Ctx) => {
      await r.handle(ctx);
      if (ctx.req.method !== 'GET' && ctx.req.method !== 'HEAD') changed();
    },
  }));
}

function faultRule(f: Fields): FaultRuleInput {
  const kind = f.get('kind');
  if (kind?.t !== 'str' || !(FAULT_KINDS as readonly string[]).includes(kind.v))
    throw new Invalid(`kind must be one of ${FAULT_KINDS.join(', ')}`);
  const rule: FaultRuleInput = { kind: kind.v as FaultRuleInput['kind'] };
  const op = f.get('op');
  if (op !== undefined) {
    if (op.t !== 'str' || !['read', 'write', 'any'].includes(op.v))
      throw new Invalid('op must be one of read, write, any');
    rule.op = op.v as FaultRuleInput['op'];
  }
  const regs = f.get('registers');
  if (regs !== undefined) {
    if (regs.t !== 'arr' || !regs.v.every((r) => r.t === 'int' && r.v >= 0n && r.v <= 255n))
      throw new Invalid('registers must be an array of register numbers (0-255)');
    rule.registers = regs.v.map((r) => Number((r as { v: bigint }).v));
  }
  const count = f.get('count');
  if (count !== undefined) {
    if (count.t !== 'int' || count.v < 0n || count.v > 1_000_000n)
      throw new Invalid('count must be an integer from 0 to 1000000');
    rule.count = Number(count.v);
  }
  const p = numberIn(f, 'probability', 0, 1);
  if (p !== undefined) rule.probability = p;
  const delay = numberIn(f, 'delay_ms', 0, 600_000);
  if (delay !== undefined) rule.delay_ms = delay;
  return rule;
}
