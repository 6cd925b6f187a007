// What the server's Admin UI gets (docs/signalk.md). Both admin UIs of signalk-server 2.23.0
// render the schema with react-jsonschema-form, where typebox's output does not work as is:
// `Type.Object` lists every property as `required`, so the browser refuses to save a form with an
// empty text field; and a union of literals renders no control at all. The code keeps the typebox
// schema (defaults and checks in resolveOptions); the form gets this copy.

import { MODES, optionsSchema } from './options.js';

type Json = Record<string, unknown>;

/** A deep copy without the `required` lists and typebox's symbol keys. */
function plain(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(plain);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Json = {};
  for (const [k, v] of Object.entries(schema)) if (k !== 'required') out[k] = plain(v);
  return out;
}

export function adminSchema(): Json {
  const s = plain(optionsSchema) as Json;
  const props = s.properties as Record<string, Json>;
  const { anyOf: _literals, ...mode } = props.mode!;
  // enumNames: the labels for RJSF 5 (both 2.23.0 UIs); uiSchema's ui:enumNames for newer ones.
  props.mode = { ...mode, type: 'string', enum: Object.keys(MODES), enumNames: Object.values(MODES) };
  // The NUT settings show only once the NUT server is switched on.
  const nut = props.nut!;
  const { enabled, ...settings } = nut.properties as Record<string, Json>;
  nut.properties = { enabled };
  nut.dependencies = {
    enabled: {
      oneOf: [{ properties: { enabled: { const: false } } }, { properties: { enabled: { const: true }, ...settings } }],
    },
  };
  return s;
}

const group = { 'ui:field': 'collapsible', collapse: { field: 'ObjectField', wrapClassName: 'panel-group' } };

/** The Admin UI layout: groups collapsed, fields in the documented order. */
export const uiSchema = {
  'ui:order': [
    'mode',
    'socketPath',
    'pollInterval',
    'pathPrefix',
    'staleTimeout',
    'engine',
    'notifications',
    'control',
    'nut',
  ],
  mode: { 'ui:widget': 'select', 'ui:enumNames': Object.values(MODES) },
  engine: group,
  notifications: group,
  control: { ...group, power: { 'ui:help': 'Anyone with write access to Signal K can then shut the computer down.' } },
  nut: { ...group, password: { 'ui:widget': 'password' } },
};
