// The HALPI2's power path as the product documents it (docs/controller.md): figures the blackout
// decision, the NUT estimates and the simulator's physical model share.

/** The supercapacitor bank: 4 × 25 F in series. */
export const SUPERCAP_F = 6.25;

/** The voltage the charger holds the supercap at. */
export const CHARGE_TARGET_V = 10.25;
