/**
 * The environments file (`WORKOS_SYNC_ENVIRONMENTS_FILE`, docs/environments.md): the WorkOS
 * environments one deployment mirrors, each named, with the name of the variable that holds its
 * API key — never the key. YAML (so JSON too), read by `yaml` with a line counter, so that a bad
 * file is one error naming its line. Pure: the file's text and the process's environment come in
 * as arguments (config/load.ts reads the file, once). schema/environments.schema.json says the
 * same for editors; test/config-environments.test.ts holds the two together.
 *
 * No message carries a secret: a value is echoed only where it is a name (an environment's, a
 * variable's) or a schedule, and never when it looks like a key.
 */

import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  type Pair,
  parseDocument,
  type YAMLError,
  type YAMLMap,
} from 'yaml';
import { ENVIRONMENT_NAME } from '../db/environment-scope.ts';
import { ConfigError } from '../errors.ts';
import { cronExpression, webhookSecret } from './parsers.ts';

/** A slug: what an environment is called in every row of the mirror. */
/** The name of an environment variable, as the file may give one: upper case, digits and `_`. */
export const VARIABLE_NAME = /^[A-Z_][A-Z0-9_]*$/;

/** An environment's schedules, in node-cron's syntax (WORKOS_SYNC_POLL_CRON's, _RECONCILE_CRON's). */
export interface EnvironmentSchedules {
  readonly pollCron: string;
  readonly reconcileCron: string;
}

/** One WorkOS environment the deployment mirrors. */
export interface EnvironmentConfig {
  /** The slug every row of the mirror carries in its `environment` column. */
  readonly name: string;
  /**
   * Its API key. Undefined only for the `default` environment of the single-environment settings
   * with `WORKOS_API_KEY` unset (the commands that call WorkOS then refuse to start).
   */
  readonly apiKey: string | undefined;
  /** Its webhook endpoint's signing secret, if its webhooks are received. */
  readonly webhookSecret: string | undefined;
  readonly schedules: EnvironmentSchedules;
}

/** An environment the file declares: where it is, and the variables its secrets came from. */
export interface DeclaredEnvironment extends EnvironmentConfig {
  readonly apiKey: string;
  /** The variable `api_key_env` names. */
  readonly apiKeyEnv: string;
  /** The variable `webhook_secret_env` names, if it is given. */
  readonly webhookSecretEnv: string | undefined;
  /** The line of its entry in the file (1-based). */
  readonly line: number;
}

/** The environments file, parsed: frozen, at least one environment, names unique. */
export interface EnvironmentsConfig {
  /** The file as it was named (the messages name it so). */
  readonly file: string;
  readonly environments: readonly DeclaredEnvironment[];
}

/** A bad environments file: one line, `file:line: what is wrong` (exit code 2 on the command line). */
export class EnvironmentsFileError extends ConfigError {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly problem: string,
  ) {
    super(`${file}:${line}: ${problem}`);
  }
}

export interface EnvironmentsFileInput {
  /** The file's name, as messages give it. */
  readonly file: string;
  /** Its contents. */
  readonly text: string;
  /** The process's environment: where the variables the file names are looked up. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The schedules of an environment that gives none (the settings' WORKOS_SYNC_*_CRON). */
  readonly defaults: EnvironmentSchedules;
}

const TOP_FIELDS = ['environments', '$schema'] as const;
const FIELDS = ['name', 'api_key_env', 'webhook_secret_env', 'poll_cron', 'reconcile_cron'] as const;
type Field = (typeof FIELDS)[number];

/** What a field means, for a field a user may reach for instead. */
const DID_YOU_MEAN: Readonly<Record<string, string>> = {
  api_key: 'api_key_env (the name of the variable that holds the key: keys do not go in the file)',
  apiKey: 'api_key_env (the name of the variable that holds the key: keys do not go in the file)',
  api_key_var: 'api_key_env',
  apiKeyEnv: 'api_key_env',
  webhook_secret:
    'webhook_secret_env (the name of the variable that holds the secret: secrets do not go in the file)',
  webhookSecret:
    'webhook_secret_env (the name of the variable that holds the secret: secrets do not go in the file)',
  webhookSecretEnv: 'webhook_secret_env',
  poll_interval: 'poll_cron (a node-cron schedule, as WORKOS_SYNC_POLL_CRON)',
  pollCron: 'poll_cron',
  reconcileCron: 'reconcile_cron',
  schedule: 'poll_cron or reconcile_cron',
  schedules: 'poll_cron and reconcile_cron, beside name',
};

const SLUG_RULE = 'lower-case letters, digits, - and _, starting with a letter or a digit, at most 63';
const VARIABLE_RULE = 'upper-case letters, digits and _, not starting with a digit';

/** The environments file's text, checked and resolved against `env`: frozen, or one error naming the line. */
export function parseEnvironmentsFile(input: EnvironmentsFileInput): EnvironmentsConfig {
  const { file, text, env, defaults } = input;
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  const lineOf = (at: number) => lines.linePos(at).line;
  const fail: Fail = (at, problem) => {
    throw new EnvironmentsFileError(file, lineOf(at), problem);
  };

  const [broken] = [...doc.errors, ...doc.warnings];
  if (broken) fail(broken.pos[0], yamlProblem(broken));
  const root = doc.contents;
  if (root === null) fail(0, 'declares no environments: the file is empty (docs/environments.md)');
  if (!isMap(root)) {
    fail(start(root), 'must be a mapping with an environments list (environments:, then - name: … for each)');
  }
  const top = fieldsOf(root, '', TOP_FIELDS, fail, (key) =>
    (FIELDS as readonly string[]).includes(key)
      ? `${key} is a field of each environment: give it inside the environments list`
      : undefined,
  );
  const schema = top.get('$schema');
  if (schema) textOf(schema, '$schema', fail);
  const list = top.get('environments');
  if (!list) fail(start(root), 'has no environments list (environments:, then - name: … for each)');
  const items = givenValue(list, 'environments', fail);
  if (!isSeq(items)) fail(start(items), 'environments must be a list (- name: … for each environment)');
  if (items.items.length === 0) fail(start(items), 'environments is empty: declare at least one environment');

  const seen = new Map<string, number>();
  const environments = items.items.map((item, index): DeclaredEnvironment => {
    const at = start(item);
    const anonymous = `environment #${index + 1}`;
    refuseAlias(item, anonymous, fail);
    if (!isMap(item)) fail(at, `${anonymous} must be a mapping (name: …, api_key_env: …)`);
    // The name first: every other message names the environment by it.
    const namePair = item.items.find((pair) => isScalar(pair.key) && pair.key.value === 'name');
    if (!namePair) fail(at, `${anonymous} has no name`);
    const name = textOf(namePair, `${anonymous}: name`, fail);
    if (!ENVIRONMENT_NAME.test(name.value)) {
      fail(name.at, `${anonymous}: name ${shown(name.value)}is not a slug (${SLUG_RULE} characters)`);
    }
    const first = seen.get(name.value);
    if (first !== undefined) {
      fail(name.at, `environment "${name.value}" is declared twice (first on line ${first})`);
    }
    seen.set(name.value, lineOf(at));
    const label = `environment "${name.value}"`;
    const fields = fieldsOf(item, `${label}: `, FIELDS, fail, (key) =>
      Object.hasOwn(DID_YOU_MEAN, key) ? `did you mean ${DID_YOU_MEAN[key]}?` : undefined,
    );
    if (!fields.has('api_key_env')) {
      fail(at, `${label} has no api_key_env: give the name of the variable that holds its API key`);
    }
    // In the file's order: the first bad field is the error.
    const given: Partial<Record<Field, string>> = {};
    const resolved: Partial<Record<Field, string>> = {};
    for (const [field, pair] of fields) {
      if (field === 'name') continue;
      const value = textOf(pair, `${label}: ${field}`, fail);
      given[field] = value.value;
      resolved[field] =
        field === 'api_key_env' || field === 'webhook_secret_env'
          ? variable(value, field, label, env, fail)
          : schedule(value, field, label, fail);
    }
    return Object.freeze({
      name: name.value,
      apiKey: resolved.api_key_env!,
      webhookSecret: resolved.webhook_secret_env,
      schedules: Object.freeze({
        pollCron: resolved.poll_cron ?? defaults.pollCron,
        reconcileCron: resolved.reconcile_cron ?? defaults.reconcileCron,
      }),
      apiKeyEnv: given.api_key_env!,
      webhookSecretEnv: given.webhook_secret_env,
      line: lineOf(at),
    });
  });
  return Object.freeze({ file, environments: Object.freeze(environments) });
}

type Fail = (at: number, problem: string) => never;

/** Where a node starts in the text (0 for none). */
function start(node: unknown): number {
  const range = (node as { readonly range?: readonly number[] | null } | null | undefined)?.range;
  return range?.[0] ?? 0;
}

/**
 * A mapping's fields by name, each given once and each one of `known`; an unknown one is an
 * error (with a hint, when `hint` has one).
 */
function fieldsOf<Known extends string>(
  map: YAMLMap<unknown, unknown>,
  where: string,
  known: readonly Known[],
  fail: Fail,
  hint: (key: string) => string | undefined,
): Map<Known, Pair> {
  const fields = new Map<Known, Pair>();
  for (const pair of map.items) {
    const key = pair.key;
    if (!isScalar(key) || typeof key.value !== 'string') {
      fail(start(key ?? pair.value), `${where}a field name must be text`);
    }
    const name = key.value;
    if (!(known as readonly string[]).includes(name)) {
      const also = hint(name);
      fail(
        start(key),
        `${where}unknown field ${shown(name)}(${where === '' ? 'the file has' : 'an environment has'} ${known.join(', ')})${also ? `: ${also}` : ''}`,
      );
    }
    const previous = fields.get(name as Known);
    if (previous) fail(start(key), `${where}${name} is given twice`);
    fields.set(name as Known, pair);
  }
  return fields;
}

/** A field's value: given (not empty, not null) and not an alias. */
function givenValue(pair: Pair, label: string, fail: Fail): Node {
  const node = pair.value as Node | null;
  if (node === null || (isScalar(node) && node.value === null))
    fail(start(pair.key), `${label} has no value`);
  refuseAlias(node, label, fail);
  return node;
}

/** A field's value as text, with where it starts; anything else is an error naming the field. */
function textOf(pair: Pair, label: string, fail: Fail): { readonly value: string; readonly at: number } {
  const node = givenValue(pair, label, fail);
  if (!isScalar(node)) fail(start(node), `${label} must be text, not a ${isSeq(node) ? 'list' : 'mapping'}`);
  const value = node.value;
  if (typeof value !== 'string') {
    const kind =
      typeof value === 'boolean' ? 'boolean' : typeof value === 'number' ? 'number' : 'value of its own type';
    fail(start(node), `${label} must be text, not a ${kind}: quote it`);
  }
  return { value, at: start(node) };
}

function refuseAlias(node: unknown, label: string, fail: Fail): void {
  if (isAlias(node)) fail(start(node), `${label} is an alias (*${node.source}): write the value out here`);
}

/** The value of the variable a field names: set, and never echoed (a name that is not one is not either). */
function variable(
  value: { readonly value: string; readonly at: number },
  field: 'api_key_env' | 'webhook_secret_env',
  label: string,
  env: Readonly<Record<string, string | undefined>>,
  fail: Fail,
): string {
  const what = field === 'api_key_env' ? 'API key' : 'webhook secret';
  const name = value.value;
  if (/^sk_/i.test(name.trim())) {
    fail(
      value.at,
      `${label}: ${field} holds what looks like an API key: keys do not go in the file; put it in an environment variable and give that variable's name`,
    );
  }
  if (!VARIABLE_NAME.test(name)) {
    fail(
      value.at,
      `${label}: ${field} must be the name of the environment variable that holds its ${what} (${VARIABLE_RULE})`,
    );
  }
  const set = env[name];
  if (set === undefined) fail(value.at, `${label}: ${field} names ${name}, which is not set`);
  if (set!.trim() === '') fail(value.at, `${label}: ${field} names ${name}, which is empty`);
  const secret = set!.trim();
  if (field === 'webhook_secret_env') {
    try {
      webhookSecret.text(secret, `${field} names ${name}, whose value`);
    } catch (error) {
      fail(value.at, `${label}: ${(error as Error).message}`);
    }
  }
  return secret;
}

/** A schedule, through the setting's own parser: the same syntax as WORKOS_SYNC_POLL_CRON. */
function schedule(
  value: { readonly value: string; readonly at: number },
  field: string,
  label: string,
  fail: Fail,
): string {
  const cron = value.value.trim();
  if (cron === '') fail(value.at, `${label}: ${field} is empty: leave it out for the settings' schedule`);
  try {
    return cronExpression.text(cron, field);
  } catch (error) {
    return fail(value.at, `${label}: ${(error as Error).message}`);
  }
}

/** A value echoed in quotes followed by a space, or nothing where it might be a secret or is too long. */
function shown(value: string): string {
  return value.length <= 64 && !/^sk_/i.test(value) && !/[\r\n]/.test(value) ? `"${value}" ` : '';
}

/** The parser's complaint in one line, without the text it quotes (it might be a pasted key). */
function yamlProblem(error: YAMLError): string {
  if (error.code === 'MULTIPLE_DOCS') {
    return 'holds more than one YAML document (a --- line): declare every environment in one';
  }
  const [first = error.code] = error.message.split('\n');
  return `not valid YAML: ${first.replace(/:\s*".*$/, '').replace(/\bsk_\w+/g, 'sk_…')}`;
}
