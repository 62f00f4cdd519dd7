// The services' build (and the CLI's): each service's entry points, with the workspace packages they use, bundled by esbuild
// into services/<name>/dist/ as CommonJS for Node 20, with source maps. npm packages stay outside the bundle
// (required at run time from the service's own node_modules): OpenTelemetry's auto-instrumentation patches
// modules as they are required, which it cannot do to code bundled in. So every npm package a bundle requires
// must be a dependency of that service itself: the build fails, naming it, when one is not.
//
//   node scripts/build.mjs              bundle every service (well under a second)
//   node scripts/build.mjs --typecheck  first `tsc -p tsconfig.json`: a type error fails the build (pnpm build)
//   node scripts/build.mjs --if-stale   only when a source is newer than the last build (npm start, jest)
//
// The dashboard (packages/dashboard, a React app for the browser) is bundled here too, into
// services/gateway/dist/ui/, which the gateway serves at /ui, /portal and /redoc and which the runtime package
// ships with the gateway's dist/. Its size, raw and gzipped, is printed with the services'.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { builtinModules, createRequire } from 'node:module';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
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
const DASHBOARD = path.join(ROOT, 'packages/dashboard');
const DASHBOARD_OUT = path.join(ROOT, 'services/gateway/dist/ui');
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
      else if (/\.(ts|tsx|css|html|json)$/.test(entry.name)) newest = Math.max(newest, statSync(full).mtimeMs);
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

/**
 * The dashboard: one ES module and one stylesheet for the browser, minified, names carrying a content hash (the
 * gateway serves them as immutable), and index.html pointing at them. ReDoc's standalone bundle (its 2.x line:
 * 3.x needs Node 22) is copied beside them for /redoc.
 */
async function bundleDashboard() {
  rmSync(DASHBOARD_OUT, { recursive: true, force: true });
  const assets = path.join(DASHBOARD_OUT, 'assets');
  const result = await esbuild.build({
    entryPoints: { app: path.join(DASHBOARD, 'src/main.tsx') },
    outdir: assets,
    entryNames: '[name]-[hash]',
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: ['chrome109', 'firefox115', 'safari16'],
    jsx: 'automatic',
    minify: true,
    sourcemap: 'linked',
    sourceRoot: '',
    metafile: true,
    legalComments: 'linked',
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'warning',
  });
  const outputs = Object.keys(result.metafile.outputs).map((file) => path.basename(file));
  const script = outputs.find((file) => /^app-.*\.js$/.test(file));
  const style = outputs.find((file) => /^app-.*\.css$/.test(file));
  if (!script || !style) throw new Error(`dashboard: expected app-*.js and app-*.css, got ${outputs.join(', ')}`);
  const html = readFileSync(path.join(DASHBOARD, 'src/index.html'), 'utf8').replace('%SCRIPT%', `assets/${script}`).replace('%STYLE%', `assets/${style}`);
  writeFileSync(path.join(DASHBOARD_OUT, 'index.html'), html);
  const redoc = path.join(DASHBOARD, 'node_modules/redoc/bundles/redoc.standalone.js');
  const redocBytes = readFileSync(redoc);
  const redocName = `redoc.standalone-${createHash('sha256').update(redocBytes).digest('hex').slice(0, 8)}.js`;
  copyFileSync(redoc, path.join(assets, redocName));
  writeFileSync(path.join(DASHBOARD_OUT, 'manifest.json'), `${JSON.stringify({ script, style, redoc: redocName }, null, 2)}\n`);
  const size = (file) => {
    const bytes = readFileSync(path.join(assets, file));
    return `${Math.round(bytes.length / 1024)} KiB (${Math.round(gzipSync(bytes).length / 1024)} KiB gzipped)`;
  };
  return `dashboard: ${script} ${size(script)}, ${style} ${size(style)}`;
}

/** The dashboard's own type check: it is browser code (DOM types, JSX), so it has a tsconfig of its own. */
function typecheckDashboard() {
  const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(DASHBOARD, 'tsconfig.json')], { cwd: ROOT, stdio: 'inherit' });
  if (tsc.status !== 0) throw new Error('the dashboard type check failed (tsc -p packages/dashboard/tsconfig.json)');
}

async function main() {
  const ifStale = process.argv.includes('--if-stale');
  const built = TARGETS.every((target) => existsSync(path.join(ROOT, target.dir, 'dist/index.js'))) && existsSync(path.join(DASHBOARD_OUT, 'index.html'));
  if (ifStale && existsSync(STAMP) && built) {
    if (statSync(STAMP).mtimeMs >= newestSource()) return;
  }
  const started = Date.now();
  if (process.argv.includes('--typecheck')) {
    const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: ROOT, stdio: 'inherit' });
    if (tsc.status !== 0) throw new Error('the type check failed (tsc -p tsconfig.json)');
    typecheckDashboard();
  }
  const lines = await Promise.all([...TARGETS.map(bundle), bundleDashboard()]);
  writeFileSync(STAMP, `${new Date().toISOString()}\n`);
  console.log(`[build] ${lines.join('; ')} (${Date.now() - started} ms)`);
}

main().catch((error) => {
  console.error(`[build] ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
