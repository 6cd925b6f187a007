// Raw register counts of the controller as the physical values /sim/inputs takes.
export const physical = {
  V_in: (raw: number) => ((raw + 0.5) * 40) / 65535,
  V_cap: (raw: number) => ((raw + 0.5) * 11) / 65536,
  I_in: (raw: number) => ((raw + 0.5) * 3.3) / 65535,
  T: (raw: number) => Math.fround(Math.fround(273.15) - 40) + ((raw + 0.5) * 140) / 65535,
};
