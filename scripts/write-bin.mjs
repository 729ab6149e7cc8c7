// `tsc` compiles src/ and migrations/ side by side under dist/; the entry point users run is
// dist/cli.js, as the README and package.json promise. Usage: node scripts/write-bin.mjs [outDir]
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const file = join(process.argv[2] ?? 'dist', 'cli.js');
writeFileSync(file, "#!/usr/bin/env node\nimport './src/cli.js';\n");
chmodSync(file, 0o755);
