#!/usr/bin/env node
// Restores lock-file entries for other platforms' optional binaries (biome, rollup, esbuild…).
//
// Why: the npm registry these machines reach serves only the binaries for this platform, so
// `npm install` writes a lock without the darwin/win32/musl… entries that the packages declare as
// optionalDependencies, and `npm ci` then refuses the lock ("Missing: … from lock file"). An entry
// with the right os/cpu/libc is what npm writes against the full registry; npm skips it on any
// other platform without fetching it. Run after every `npm install` that rewrites the lock.
import { readFileSync, writeFileSync } from 'node:fs';

const OS = ['android', 'darwin', 'freebsd', 'linux', 'netbsd', 'openbsd', 'openharmony', 'sunos', 'win32', 'aix', 'cygwin'];
const CPU = { arm64: 'arm64', x64: 'x64', ia32: 'ia32', arm: 'arm', loong64: 'loong64', ppc64: 'ppc64', riscv64: 'riscv64', s390x: 's390x', mips64el: 'mips64el', mipsel: 'mipsel', wasm32: 'wasm32' };

/** os, cpu and libc from a platform package's name, e.g. `cli-linux-arm64-musl`, `rollup-android-arm-eabi`. */
function platformOf(name) {
  const parts = name.split('/').pop().split('-');
  const os = parts.find((part) => OS.includes(part)) ?? (parts.includes('openharmony') ? 'openharmony' : undefined);
  const cpu = parts.find((part) => part in CPU);
  const libc = parts.some((p) => p === 'musl' || p === 'musleabihf') ? 'musl' : parts.some((p) => p === 'gnu' || p === 'gnueabihf') ? 'glibc' : undefined;
  return { os, cpu, libc };
}

const path = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(path, 'utf8'));
const added = [];
for (const [at, entry] of Object.entries(lock.packages)) {
  for (const [dependency, version] of Object.entries(entry.optionalDependencies ?? {})) {
    // Nested first, as npm resolves, then hoisted.
    const nested = `${at ? `${at}/` : ''}node_modules/${dependency}`;
    const hoisted = `node_modules/${dependency}`;
    if (lock.packages[nested] || lock.packages[hoisted]) continue;
    const { os, cpu, libc } = platformOf(dependency);
    if (!os || !cpu) continue; // not a platform binary: leave it to npm
    lock.packages[hoisted] = {
      version,
      ...(entry.dev ? { dev: true } : {}),
      optional: true,
      os: [os],
      cpu: [cpu],
      ...(libc ? { libc: [libc] } : {}),
    };
    added.push(`${dependency}@${version}`);
  }
}
const sorted = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))));
lock.packages = sorted;
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
console.log(added.length ? `complete-lockfile: added ${added.length} entries: ${added.join(', ')}` : 'complete-lockfile: nothing missing');
