// A throwaway PostgreSQL 15 cluster on loopback, from Debian's binaries:
// initdb into a temp dir, pg_ctl start/stop on a free port. As root the
// binaries run as the `postgres` user (runuser), which owns the temp dir.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './fixtures.js';

export const kPgBin = process.env.ROOMCAST_PG_BIN ?? '/usr/lib/postgresql/15/bin';
export const pgAvailable = () => fs.existsSync(path.join(kPgBin, 'initdb')) && fs.existsSync(path.join(kPgBin, 'pg_ctl'));

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

function run(file, args, { timeoutMs = 30000 } = {}) {
  const [cmd, argv] = isRoot() ? ['runuser', ['-u', 'postgres', '--', file, ...args]] : [file, args];
  return new Promise((resolve, reject) => {
    execFile(cmd, argv, { timeout: timeoutMs, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`${file} ${args.join(' ')} failed (${err.code ?? err.signal}):\n${stdout}${stderr}`));
      } else {
        resolve({ stdout, stderr });
      }
    });
  });
}

/** uid/gid of the postgres user (from /etc/passwd). */
function postgresIds() {
  const line = fs.readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('no postgres user in /etc/passwd (apt-get install postgresql)');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/**
 * initdb + start. Resolves { port, url, dir, start(), stop(), destroy(), log() }.
 * url is postgresql://postgres@127.0.0.1:PORT/postgres (trust auth on loopback).
 */
export async function startPostgres() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roomcast-pg-'));
  const data = path.join(dir, 'data');
  const logFile = path.join(dir, 'postgres.log');
  if (isRoot()) {
    const { uid, gid } = postgresIds();
    fs.chownSync(dir, uid, gid);
  }
  const port = await freePort();
  const pg = {
    port,
    dir,
    url: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    running: false,
    log: () => (fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : ''),
    async start() {
      await run(path.join(kPgBin, 'pg_ctl'), [
        'start', '-D', data, '-w', '-t', '20', '-l', logFile,
        '-o', `-k ${dir} -c listen_addresses=127.0.0.1 -p ${port} -c fsync=off`,
      ]);
      pg.running = true;
    },
    async stop() {
      await run(path.join(kPgBin, 'pg_ctl'), ['stop', '-D', data, '-m', 'fast', '-w', '-t', '20']);
      pg.running = false;
    },
    /** Stops the server if it runs (immediate mode as a last resort) and removes the temp dir. */
    async destroy() {
      if (fs.existsSync(path.join(data, 'postmaster.pid'))) {
        await pg.stop().catch(() => run(path.join(kPgBin, 'pg_ctl'), ['stop', '-D', data, '-m', 'immediate', '-w', '-t', '10']).catch(() => {}));
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await run(path.join(kPgBin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions'], { timeoutMs: 60000 });
    await pg.start();
  } catch (err) {
    await pg.destroy().catch(() => {});
    throw err;
  }
  return pg;
}

/** postgresql:// URL of database `name` on a cluster from startPostgres (trust auth on loopback). */
export const databaseUrl = (pg, name) => `postgresql://postgres@127.0.0.1:${pg.port}/${name}`;

/**
 * Runs `sql` with psql (from kPgBin) on `pg`'s database `database` (default
 * postgres), stopping at the first error. Resolves stdout: unaligned, tuples
 * only (`-A -t`), fields separated by `|`, one row a line.
 */
export async function psql(pg, sql, { database = 'postgres', timeoutMs = 15000 } = {}) {
  const { stdout } = await run(path.join(kPgBin, 'psql'), [
    '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1',
    '-h', '127.0.0.1', '-p', String(pg.port), '-U', 'postgres', '-d', database, '-c', sql,
  ], { timeoutMs });
  return stdout;
}

/** CREATE DATABASE `name` (a plain identifier) on `pg`; resolves its URL. */
export async function createDatabase(pg, name) {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain database name: ${name}`);
  await psql(pg, `CREATE DATABASE ${name}`);
  return databaseUrl(pg, name);
}
