/**
 * The library's types: every named type an application meets through the public API (what
 * `createWorkosSync` takes, what its methods take and return, their properties, recursively) is
 * importable by name from the package's entry — found by the compiler, so a new one cannot be
 * forgotten.
 */
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Kysely } from 'kysely';
import type pg from 'pg';
import ts from 'typescript';
import { expect, expectTypeOf, it } from 'vitest';
import type {
  Config,
  DatabaseSettings,
  DatabaseTarget,
  LogLevel,
  MigrationResult,
  WebhookSettings,
  WorkosSync,
  WorkosSyncSettings,
} from '../src/index.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

it('names the types of the configuration and of migrate()', () => {
  expectTypeOf<WorkosSync['config']>().toEqualTypeOf<Config>();
  expectTypeOf<Config['database']>().toEqualTypeOf<DatabaseSettings>();
  expectTypeOf<DatabaseSettings['target']>().toEqualTypeOf<DatabaseTarget>();
  expectTypeOf<Config['webhooks']>().toEqualTypeOf<WebhookSettings | null>();
  expectTypeOf<Config['logLevel']>().toEqualTypeOf<LogLevel>();
  expectTypeOf<Awaited<ReturnType<WorkosSync['migrate']>>>().toEqualTypeOf<MigrationResult>();
  expectTypeOf<WorkosSyncSettings['logLevel']>().toEqualTypeOf<LogLevel | undefined>();
});

/** The library's options as they were typed by hand, before they followed from the settings' rows. */
interface HandWrittenSettings {
  readonly apiKey?: string | undefined;
  readonly apiUrl?: string | undefined;
  readonly database?:
    | { readonly url: string; readonly sslCa?: string | undefined }
    | { readonly pool: pg.Pool }
    // biome-ignore lint/suspicious/noExplicitAny: as in the options.
    | { readonly kysely: Kysely<any> }
    | { readonly dataDir: string }
    | undefined;
  readonly schema?: string | undefined;
  readonly pollCron?: string | undefined;
  readonly reconcileCron?: string | undefined;
  readonly http?:
    | {
        readonly host?: string | undefined;
        readonly port?: number | undefined;
        /** `user:password`, as `WORKOS_SYNC_HTTP_BASIC_AUTH`. */
        readonly basicAuth?: string | undefined;
      }
    | false
    | undefined;
  readonly poolSize?: number | undefined;
  readonly leaseSeconds?: number | undefined;
  readonly idlePollMaxSeconds?: number | undefined;
  readonly requestTimeoutSeconds?: number | undefined;
  readonly requestsPerMinute?: number | undefined;
  readonly webhooks?:
    | {
        readonly secret: string;
        readonly host?: string | undefined;
        readonly port?: number | undefined;
        readonly lookSeconds?: number | undefined;
      }
    | undefined;
  readonly logLevel?: LogLevel | undefined;
  readonly notify?: boolean | 'on' | 'off' | undefined;
  readonly events?:
    | {
        readonly retentionDays?: number | 'forever' | undefined;
        readonly pruneQuarantined?: boolean | 'on' | 'off' | undefined;
      }
    | undefined;
}

it('derives the library`s options from the rows as they were written by hand', () => {
  expectTypeOf<WorkosSyncSettings>().toEqualTypeOf<HandWrittenSettings>();
});

it('exports every named type reachable from its API', () => {
  const entry = join(root, 'src/index.ts');
  const parsed = ts.getParsedCommandLineOfConfigFile(
    join(root, 'tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
        throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
      },
    },
  )!;
  const program = ts.createProgram([entry], parsed.options);
  const checker = program.getTypeChecker();
  const resolve = (symbol: ts.Symbol) =>
    symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
  const exported = new Set(
    checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(entry)!)!).map(resolve),
  );
  const ours = (symbol: ts.Symbol | undefined): boolean =>
    (symbol?.declarations ?? []).some((d) => !d.getSourceFile().fileName.includes('/node_modules/'));
  // A generic alias computes a type (`SettingValue<'LOG_LEVEL'>` is `LogLevel`): what it computes
  // is checked, not its name.
  const isGenericAlias = (symbol: ts.Symbol) =>
    symbol.flags & ts.SymbolFlags.TypeAlias &&
    (checker.getDeclaredTypeOfSymbol(symbol).aliasTypeArguments ?? []).length > 0;
  const named =
    ts.SymbolFlags.Interface | ts.SymbolFlags.TypeAlias | ts.SymbolFlags.Class | ts.SymbolFlags.Enum;

  const missing = new Map<string, string>();
  const seen = new Set<ts.Type>();
  const visit = (type: ts.Type, via: string): void => {
    if (seen.has(type)) return;
    seen.add(type);
    for (const symbol of [type.aliasSymbol, type.getSymbol()]) {
      if (
        symbol &&
        ours(symbol) &&
        symbol.flags & named &&
        !exported.has(symbol) &&
        !isGenericAlias(symbol)
      ) {
        const file = relative(root, symbol.declarations![0]!.getSourceFile().fileName);
        missing.set(`${symbol.name} (${file})`, via);
      }
    }
    for (const argument of type.aliasTypeArguments ?? []) visit(argument, via);
    if (type.isUnionOrIntersection()) for (const member of type.types) visit(member, via);
    if (!(type.flags & ts.TypeFlags.Object)) return;
    if ((type as ts.ObjectType).objectFlags & ts.ObjectFlags.Reference) {
      for (const argument of checker.getTypeArguments(type as ts.TypeReference)) visit(argument, via);
    }
    // The insides of a library's types (Kysely, pg, pino) are that library's to export.
    const symbol = type.aliasSymbol ?? type.getSymbol();
    if (symbol && !ours(symbol) && !(symbol.flags & ts.SymbolFlags.TypeLiteral)) return;
    const name = symbol && symbol.flags & named ? symbol.name : via;
    for (const property of type.getProperties()) visit(checker.getTypeOfSymbol(property), name);
    for (const signature of [...type.getCallSignatures(), ...type.getConstructSignatures()]) {
      for (const parameter of signature.getParameters()) visit(checker.getTypeOfSymbol(parameter), name);
      visit(signature.getReturnType(), name);
    }
  };
  for (const symbol of exported) {
    const declared = symbol.flags & named ? checker.getDeclaredTypeOfSymbol(symbol) : undefined;
    if (declared) visit(declared, symbol.name);
    if (symbol.flags & (ts.SymbolFlags.Value | ts.SymbolFlags.Class)) {
      visit(checker.getTypeOfSymbol(symbol), symbol.name);
    }
  }
  expect(Object.fromEntries(missing), 'type (module) → where it is met: export it from src/index.ts').toEqual(
    {},
  );
}, 30_000);
