#!/usr/bin/env node
// The floors of server/ (docs/ARCHITECTURE.md): a file may include headers of
// its own floor and of floors below it, never above or beside it; the pure
// floors include no networking, RPC, database or Redis library. Exits 1 and
// names every violation.
//   node scripts/check-layers.mjs [ROOT]
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..'));

// Bottom to top; floors on one row sit side by side and may not include each other.
const kFloors = [
  ['base'],
  ['codec'],
  ['core'],
  ['auth', 'broker', 'storage', 'engineio', 'socketio'],
  ['rooms'],
  ['net', 'observe'],
  ['control'],
  ['app'],
];
const kPure = new Set(['base', 'codec', 'core', 'auth', 'engineio', 'socketio', 'rooms']);
const kImpure = /^#\s*include\s*[<"](boost\/(asio|beast)|grpc|grpcpp|pqxx|hiredis|prometheus)/;

const level = new Map(kFloors.flatMap((row, i) => row.map((floor) => [floor, i])));
const problems = [];
const serverDir = path.join(root, 'server');

for (const folder of fs.readdirSync(serverDir)) {
  const dir = path.join(serverDir, folder);
  if (!fs.statSync(dir).isDirectory()) continue;
  if (!level.has(folder)) {
    problems.push(`server/${folder}/: not a floor of docs/ARCHITECTURE.md`);
    continue;
  }
  for (const file of fs.readdirSync(dir).filter((f) => /\.(h|cc)$/.test(f))) {
    const name = `server/${folder}/${file}`;
    fs.readFileSync(path.join(dir, file), 'utf8').split('\n').forEach((line, i) => {
      const where = `${name}:${i + 1}`;
      const own = /^#\s*include\s*"server\/([a-z_]+)\//.exec(line);
      if (own) {
        const target = own[1];
        if (!level.has(target)) {
          problems.push(`${where}: includes server/${target}/, not a floor`);
        } else if (target !== folder && level.get(target) >= level.get(folder)) {
          const how = level.get(target) === level.get(folder) ? 'beside' : 'above';
          problems.push(`${where}: ${folder} includes ${target}, a floor ${how} it`);
        }
      }
      if (kPure.has(folder) && kImpure.test(line)) {
        problems.push(`${where}: ${folder} is a pure floor and includes ${line.trim()}`);
      }
    });
  }
}

if (problems.length) {
  console.error(`check-layers: ${problems.length} violation(s)\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(`check-layers: ${[...level.keys()].join(', ')}: no include goes up or sideways`);
