// Builds dist/esm and dist/cjs from the repository's src/client and src/gen.
// dist/cjs gets a package.json of its own so that Node and TypeScript read
// its .js and .d.ts files as CommonJS, while the package itself is ESM.
//
// The build goes to a staging directory that then replaces dist/ by rename,
// so a program running from dist/ (the media-server example in the tests,
// while client-package.test.ts packs the client) never sees it half-deleted.
import { execFileSync } from 'node:child_process';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const staging = `dist.building-${process.pid}`;
const retired = `dist.old-${process.pid}`;
rmSync(staging, { recursive: true, force: true });
for (const [project, out] of [['tsconfig.esm.json', 'esm'], ['tsconfig.cjs.json', 'cjs']]) {
  execFileSync(process.execPath, [tsc, '-p', project, '--outDir', `${staging}/${out}`], { stdio: 'inherit' });
}
writeFileSync(`${staging}/cjs/package.json`, '{ "type": "commonjs" }\n');
// Another build may put its dist/ in place between our two renames; then
// retire that one too and try again.
for (let attempt = 0; ; attempt++) {
  try {
    renameSync('dist', `${retired}-${attempt}`);
  } catch (err) {
    if (err.code !== 'ENOENT') throw err;
  }
  try {
    renameSync(staging, 'dist');
    break;
  } catch (err) {
    if ((err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') || attempt === 10) throw err;
  }
}
for (let attempt = 0; attempt <= 10; attempt++) rmSync(`${retired}-${attempt}`, { recursive: true, force: true });
