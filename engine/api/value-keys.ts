// The names under /values/<key> in each dialect (docs/api.md), in the order the docs list them:
// one list for the router, `halpi compare` and `halpi completion`.

/** Dialect 5 (halpid 5.0.2). */
export const V5_VALUE_KEYS = [
  'V_in',
  'V_cap',
  'I_in',
  'T_mcu',
  'T_pcb',
  'state',
  '5v_output_enabled',
  'watchdog_enabled',
  'watchdog_timeout',
  'watchdog_elapsed',
  'hardware_version',
  'firmware_version',
  'daemon_version',
  'device_id',
] as const;

/** Dialect 4 (halpid 4.0.7): V_supercap for V_cap, and the USB ports among the values. */
export const V4_VALUE_KEYS: readonly string[] = V5_VALUE_KEYS.flatMap((k) =>
  k === 'V_cap' ? ['V_supercap'] : k === '5v_output_enabled' ? [k, 'usb_port_state'] : [k],
);
