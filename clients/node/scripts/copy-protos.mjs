// Copies the API's .proto files from the repository's protos/ into this
// package's protos/ (roomcast/v1 and the google/api annotations the service
// imports), so that the published package is self-contained. Run by
// `npm run build`. Outside the repository (a package tarball) the existing
// copy is kept.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const packageDir = path.resolve(here, '..');
const source = path.resolve(packageDir, '../../protos');
const target = path.join(packageDir, 'protos');
const wanted = ['roomcast', path.join('google', 'api')];

if (!fs.existsSync(path.join(source, 'roomcast/v1/roomcast.proto'))) {
  if (fs.existsSync(path.join(target, 'roomcast/v1/roomcast.proto'))) {
    console.log(`copy-protos: ${source} not found, keeping ${target}`);
    process.exit(0);
  }
  console.error(`copy-protos: no protos at ${source} and none in ${target}`);
  process.exit(1);
}

fs.rmSync(target, { recursive: true, force: true });
let copied = 0;
for (const dir of wanted) {
  const from = path.join(source, dir);
  for (const entry of fs.readdirSync(from, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.proto')) continue;
    const file = path.join(entry.parentPath ?? entry.path, entry.name);
    const to = path.join(target, path.relative(source, file));
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.copyFileSync(file, to);
    copied += 1;
  }
}
console.log(`copy-protos: ${copied} files from ${path.relative(packageDir, source)} to protos/`);
