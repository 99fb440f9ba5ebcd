import { SETTING_DEFINITIONS, type SettingDefinition } from './definitions.js';

const GENERATED = 'Generated from core/src/settings/definitions.ts by `pnpm docs:config`; edit the definitions, not this file (a test compares them).';

/** Variables that matter to an erpc process but are read by Node itself, not by erpc. */
const NODE_VARIABLES = [
  {
    name: 'UV_THREADPOOL_SIZE',
    description:
      "Size of libuv's thread pool (default 4), which runs file-system calls such as the dropzone connectors' writes and fsyncs; a worker with a high `ERPC_WORKER_CONCURRENCY` may want 16. It must be set before Node starts. Sandbox processes get the same size unless `ERPC_SANDBOX_THREADPOOL_SIZE` says otherwise.",
  },
];

const TYPE_TEXT: Record<SettingDefinition['type'], string> = {
  string: 'text',
  integer: 'integer',
  number: 'number',
  boolean: 'boolean',
  path: 'path',
  'path-list': 'paths (`:`)',
  enum: 'one of',
};

/** The documented default of a setting, as Markdown. */
function defaultText(def: SettingDefinition): string {
  if (def.defaultText !== undefined) return def.defaultText;
  if (def.default === undefined) return 'unset';
  return `\`${String(def.default)}\``;
}

function groups(): Map<string, SettingDefinition[]> {
  const byGroup = new Map<string, SettingDefinition[]>();
  for (const def of SETTING_DEFINITIONS) byGroup.set(def.group, [...(byGroup.get(def.group) ?? []), def]);
  return byGroup;
}

const cell = (text: string): string => text.replaceAll('|', '\\|');

/** docs/configuration.md: every setting, by group, from the definitions. */
export function renderConfigurationDoc(): string {
  const out: string[] = [
    '# Configuration',
    '',
    `<!-- ${GENERATED} -->`,
    '',
    'erpc reads its settings once at start-up, from the environment and the command line, into one',
    'typed, frozen configuration; a command-line option wins over its variable. An empty value is the',
    'same as an unset one. Relative paths are resolved against the working directory. A value erpc',
    'cannot use stops the command with `ERPC_ERR_SETTING_INVALID` naming the variable (never its',
    'value) and exit code 3.',
    '',
    '`pnpm erpc config check` prints the effective settings and where each came from (`env`,',
    '`cli` or `default`); secrets are shown as `set` or `unset`, never their value. `--json` prints',
    '`{"settings": [{"name", "value", "source", "secret"}], "warnings": [...]}`.',
    '',
    'A variable that looks like a setting but is none (`LOG_LEVEL`, a misspelt `ERPC_*` name) is',
    'named in a warning at start-up, with the closest real setting.',
    '',
    'erpc does not read a `.env` file itself: [`.env.example`](../.env.example) lists every setting',
    "for your service manager's environment file (`EnvironmentFile=`, `docker run --env-file`, or",
    '`node --env-file=.env`).',
    '',
  ];
  for (const [group, defs] of groups()) {
    out.push(`## ${group}`, '', '| Variable | Type | Default | Option | Meaning |', '| --- | --- | --- | --- | --- |');
    for (const def of defs) {
      const type = def.type === 'enum' ? `${TYPE_TEXT[def.type]} ${enumValues(def).map((v) => `\`${v}\``).join(', ')}` : TYPE_TEXT[def.type];
      const row = [
        `\`${def.name}\``,
        def.secret ? `${type}, secret` : type,
        defaultText(def),
        def.option === undefined ? '' : `\`${def.option}\``,
        def.description,
      ];
      out.push(`| ${row.map(cell).join(' | ')} |`);
    }
    out.push('');
  }
  out.push('## Read by Node, not by erpc', '');
  for (const v of NODE_VARIABLES) out.push(`- \`${v.name}\`: ${v.description}`);
  out.push('');
  return out.join('\n');
}

/** .env.example: every setting, commented out at its default. */
export function renderEnvExample(): string {
  const out: string[] = [
    '# erpc settings; docs/configuration.md explains each one.',
    `# ${GENERATED}`,
    '# Every line is commented out at its default: uncomment what you change. An empty value is unset.',
    '',
  ];
  for (const [group, defs] of groups()) {
    out.push(`# --- ${group} ---`, '');
    for (const def of defs) {
      out.push(`# ${def.description.replaceAll('`', '')}`);
      if (def.type === 'enum') out.push(`# One of: ${enumValues(def).join(', ')}.`);
      if (def.defaultText !== undefined) {
        const text = def.defaultText.replaceAll('`', '');
        out.push(text.startsWith('unset: ') ? `# Unset: ${text.slice('unset: '.length)}.` : `# Default: ${text}.`);
      }
      out.push(`# ${def.name}=${def.secret || def.default === undefined ? '' : String(def.default)}`, '');
    }
  }
  out.push('# --- Read by Node, not by erpc ---', '');
  for (const v of NODE_VARIABLES) out.push(`# ${v.description.replaceAll('`', '')}`, `# ${v.name}=4`, '');
  return out.join('\n');
}

function enumValues(def: SettingDefinition): string[] {
  return (def.schema.enum as string[] | undefined) ?? [];
}
