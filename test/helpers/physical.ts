// Raw register counts of the controller as the physical values /sim/inputs takes.
export const physical = {
  V_in: (raw: number) => ((raw + 0.5) * 40) / 65535,
  V_cap: (raw: number) => ((raw + 0.5) * 11) / 65536,
  I_in: (raw: number) => ((raw + 0.5) * 3.3) / 65535,
  T: (raw: number) => Math.fround(Math.fround(273.15) - 40) + ((raw + 0.5) * 140) / 65535,
};

/** The inputs behind docs/api.md's worked example (its /values body), held for /sim/inputs. */
export const EXAMPLE_INPUTS = {
  V_in: physical.V_in(20000),
  V_cap: physical.V_cap(61000),
  I_in: physical.I_in(7000),
  T_mcu: physical.T(35000),
  T_pcb: physical.T(33000),
  hold: true,
};
