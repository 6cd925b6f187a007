// `halpi completion bash|zsh` (docs/cli.md): a completion script made from halpi's own command
// tree, so it never lists a command or flag halpi does not have. The .deb installs both.

import type { Command } from 'commander';
import { V5_VALUE_KEYS } from '../engine/api/value-keys.js';
import { CONFIG_KEYS } from '../engine/device.js';

/** Names `halpi get` takes (docs/api.md, /values). */
const VALUE_KEYS = V5_VALUE_KEYS;

interface Node {
  /** The command words after `halpi`, space-joined ('' for halpi itself). */
  path: string;
  words: string[];
}

const longFlags = (c: Command): string[] => [
  ...c.options.map((o) => o.long).filter((l): l is string => Boolean(l)),
  '--help',
];

function walk(c: Command, path: string, out: Node[]): void {
  const subs = c.commands.filter((s) => s.name() !== 'help');
  out.push({ path, words: [...subs.map((s) => s.name()), ...longFlags(c)] });
  for (const s of subs) walk(s, path ? `${path} ${s.name()}` : s.name(), out);
}

/** Flags that take a value (their next word is not a command). */
function valueFlags(c: Command, into = new Set<string>()): Set<string> {
  for (const o of c.options) {
    if (o.required || o.optional) {
      if (o.long) into.add(o.long);
      if (o.short) into.add(o.short);
    }
  }
  for (const s of c.commands) valueFlags(s, into);
  return into;
}

/** Words for a command's argument: setting names, value names, ports, files. */
const ARGUMENTS: Record<string, string> = {
  get: VALUE_KEYS.join(' '),
  'config get': CONFIG_KEYS.join(' '),
  'config set': CONFIG_KEYS.join(' '),
  'usb enable': '0 1 2 3 all',
  'usb disable': '0 1 2 3 all',
  completion: 'bash zsh',
};
const FILE_ARGUMENT = new Set(['flash']);
const FILE_FLAGS = ['-s', '--socket', '--against'];

export function bashCompletion(program: Command): string {
  const nodes: Node[] = [];
  walk(program, '', nodes);
  const skip = [...valueFlags(program)].join('|');
  const cases = nodes.map((n) => {
    const args = ARGUMENTS[n.path] ? ` ${ARGUMENTS[n.path]}` : '';
    const files = FILE_ARGUMENT.has(n.path) ? ' COMPREPLY+=($(compgen -f -- "$cur"));' : '';
    return `    "${n.path}") COMPREPLY=($(compgen -W "${n.words.join(' ')}${args}" -- "$cur"));${files} ;;`;
  });
  return `# bash completion for halpi (made by: halpi completion bash)
_halpi() {
  local cur prev cmdpath="" i w
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  case "$prev" in
    ${FILE_FLAGS.join('|')}) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    ${skip}) COMPREPLY=(); return ;;
  esac
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    case "$w" in
      ${skip}) ((i++)) ;;
      -*) ;;
      *) cmdpath="\${cmdpath:+$cmdpath }$w" ;;
    esac
  done
  case "$cmdpath" in
${cases.join('\n')}
    *) COMPREPLY=() ;;
  esac
}
complete -F _halpi halpi
`;
}

export function zshCompletion(program: Command): string {
  const nodes: Node[] = [];
  walk(program, '', nodes);
  const skip = [...valueFlags(program)].join('|');
  const cases = nodes.map((n) => {
    const args = ARGUMENTS[n.path] ? ` ${ARGUMENTS[n.path]}` : '';
    const files = FILE_ARGUMENT.has(n.path) ? ' _files;' : '';
    return `    ("${n.path}") compadd -- ${n.words.join(' ')}${args};${files} ;;`;
  });
  // `path` is special in zsh (tied to PATH): the command words go in cmdpath.
  return `#compdef halpi
# zsh completion for halpi (made by: halpi completion zsh)
_halpi() {
  local cmdpath="" w
  local -i i
  case "\${words[CURRENT-1]}" in
    (${FILE_FLAGS.join('|')}) _files; return ;;
    (${skip}) return ;;
  esac
  for ((i = 2; i < CURRENT; i++)); do
    w="\${words[i]}"
    case "$w" in
      (${skip}) ((i++)) ;;
      (-*) ;;
      (*) cmdpath="\${cmdpath:+$cmdpath }$w" ;;
    esac
  done
  case "$cmdpath" in
${cases.join('\n')}
  esac
}
if [ "$funcstack[1]" = "_halpi" ]; then
  _halpi "$@"
else
  compdef _halpi halpi
fi
`;
}
