// The worked example of docs/api.md as halpi shows it (docs/cli.md, USB2 off).
export const STATUS_EXAMPLE = `hardware_version                     N/A
firmware_version                   3.3.1

state                    OperationalCoOp
5v_output_enabled                   true
usb_ports                USB0:✓ USB1:✓ USB2:✗ USB3:✓
watchdog_enabled                    true
watchdog_timeout                    10.0 s
watchdog_elapsed                     0.0 s

V_in                                12.2 V
I_in                                0.35 A
V_cap                              10.24 V
T_mcu                               34.8 °C
T_pcb                               30.5 °C

`;
