// What the storm drivers share: socket.io-client from where the benchmarks
// install it, and a process's CPU and memory from /proc.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/** socket.io-client from bench/reference/node_modules, else tests/node_modules: { io, version, from }; `fail` else. */
export function loadSocketIoClient(root, fail) {
  for (const dir of ['bench/reference', 'tests']) {
    try {
      const require = createRequire(path.join(root, dir, 'package.json'));
      const module = require('socket.io-client');
      const version = JSON.parse(fs.readFileSync(require.resolve('socket.io-client/package.json'), 'utf8')).version;
      return { io: module.io ?? module, version, from: path.join(dir, 'node_modules') };
    } catch { /* the next place */ }
  }
  return fail('socket.io-client not found: (cd bench/reference && npm ci)');
}

const kTicksPerSecond = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** { cpu_s, rss_kb } of one pid; zeros when it is gone. */
export function sampleProcess(pid) {
  const sample = { cpu_s: 0, rss_kb: 0 };
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command may hold spaces and parentheses: the fields follow the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    sample.cpu_s = (Number(fields[11]) + Number(fields[12])) / kTicksPerSecond;
    const rss = /^VmRSS:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    sample.rss_kb = rss ? Number(rss[1]) : 0;
  } catch { /* gone */ }
  return sample;
}
