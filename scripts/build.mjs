// The services' build (and the CLI's): each service's entry points, with the workspace packages they use, bundled by esbuild
// into services/<name>/dist/ as CommonJS for Node 20, with source maps. npm packages stay outside the bundle
// (required at run time from the service's own node_modules): OpenTelemetry's auto-instrumentation patches
// modules as they are required, which it cannot do to code bundled in. So every npm package a bundle requires
// must be a dependency of that service itself: the build fails, naming it, when one is not.
//
//   node scripts/build.mjs              bundle every service (well under a second)
//   node scripts/build.mjs --typecheck  first `tsc -p tsconfig.json`: a type error fails the build (pnpm build)
//   node scripts/build.mjs --if-stale   only when a source is newer than the last build (npm start, jest)
import { spawnSync } from 'node:child_process';
import { builtinModules, createRequire } from 'node:module';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(ROOT, 'package.json'));
const esbuild = require('esbuild');

/** What is bundled: each folder's entry points (src/<entry>.ts → dist/<entry>.js); a service also gets the telemetry loader. */
const TARGETS = [
  { dir: 'services/gateway', entries: ['index', 'reseal'], telemetry: true },
  { dir: 'services/dispatcher', entries: ['index'], telemetry: true },
  { dir: 'services/projector', entries: ['index', 'rebuild'], telemetry: true },
  // The hookpost command (packages/cli/bin/hookpost.js loads dist/index.js), with the signing code bundled in.
  { dir: 'packages/cli', entries: ['index'], telemetry: false },
];
const TELEMETRY_REGISTER = path.join(ROOT, 'packages/telemetry/src/register.ts');
const STAMP = path.join(ROOT, 'node_modules/.hookpost-build');

const builtins = new Set([...builtinModules, ...builtinModules.map((name) => `node:${name}`)]);
/** The npm package a bare import names ('@scope/name/sub' → '@scope/name'). */
const packageOf = (specifier) => specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/');

/** Workspace packages (@hookpost/*) are bundled; every other bare import stays a require. */
const externalNpmPackages = {
  name: 'external-npm-packages',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('@hookpost/') || builtins.has(args.path)) return undefined;
      return { path: args.path, external: true };
    });
  },
};

function newestSource() {
  let newest = 0;
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name === 'node_modules' || entry.name === 'dist' || entry.name === 'test') continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (/\.(ts|json)$/.test(entry.name)) newest = Math.max(newest, statSync(full).mtimeMs);
    }
  };
  walk(path.join(ROOT, 'packages'));
  walk(path.join(ROOT, 'services'));
  return Math.max(newest, statSync(path.join(ROOT, 'pnpm-lock.yaml')).mtimeMs, statSync(fileURLToPath(import.meta.url)).mtimeMs);
}

async function bundle({ dir: relative, entries, telemetry }) {
  const dir = path.join(ROOT, relative);
  const entryPoints = Object.fromEntries([
    ...entries.map((entry) => [entry, path.join(dir, 'src', `${entry}.ts`)]),
    ...(telemetry ? [['register', TELEMETRY_REGISTER]] : []),
  ]);
  const result = await esbuild.build({
    entryPoints,
    outdir: path.join(dir, 'dist'),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: true,
    // Source paths in the maps relative to the map, not the machine that built them.
    sourceRoot: '',
    metafile: true,
    logLevel: 'warning',
    plugins: [externalNpmPackages],
  });
  const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
  const declared = new Set(Object.keys(manifest.dependencies ?? {}));
  const required = new Set();
  for (const output of Object.values(result.metafile.outputs)) {
    for (const imported of output.imports) if (imported.external && !builtins.has(imported.path)) required.add(packageOf(imported.path));
  }
  const missing = [...required].filter((name) => !declared.has(name)).sort();
  if (missing.length > 0) {
    throw new Error(`${relative}: the bundle requires ${missing.join(', ')} at run time; add ${missing.length === 1 ? 'it' : 'them'} to ${relative}/package.json dependencies`);
  }
  const bytes = Object.entries(result.metafile.outputs)
    .filter(([file]) => file.endsWith('.js'))
    .map(([file, output]) => `${path.basename(file)} ${Math.round(output.bytes / 1024)} KiB`);
  return `${path.basename(relative)}: ${bytes.join(', ')}`;
}

async function main() {
  const ifStale = process.argv.includes('--if-stale');
  if (ifStale && existsSync(STAMP) && TARGETS.every((target) => existsSync(path.join(ROOT, target.dir, 'dist/index.js')))) {
    if (statSync(STAMP).mtimeMs >= newestSource()) return;
  }
  const started = Date.now();
  if (process.argv.includes('--typecheck')) {
    const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: ROOT, stdio: 'inherit' });
    if (tsc.status !== 0) throw new Error('the type check failed (tsc -p tsconfig.json)');
  }
  const lines = await Promise.all(TARGETS.map(bundle));
  writeFileSync(STAMP, `${new Date().toISOString()}\n`);
  console.log(`[build] ${lines.join('; ')} (${Date.now() - started} ms)`);
}

main().catch((error) => {
  console.error(`[build] ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
