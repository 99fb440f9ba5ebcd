import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Debian's openssh-server; `.ci/run` installs it when missing. */
export const SSHD = '/usr/sbin/sshd';
export const HAVE_SSHD = existsSync(SSHD);
const IS_ROOT = process.getuid?.() === 0;

/** A real OpenSSH server on a free loopback port, serving a temporary folder. */
export interface Sshd {
  port: number;
  /** The temporary folder holding keys, config and the served folders. */
  dir: string;
  /** A folder the test user (root, or whoever runs the tests) can write: the drop folder of most tests. */
  drop: string;
  /** The user key tests authenticate as, and the user it belongs to. */
  username: string;
  privateKey: string;
  /** The same key pair, encrypted with {@link passphrase}. */
  encryptedKey: string;
  passphrase: string;
  /** `SHA256:…` of the server's host key, from `ssh-keygen -lf`. */
  hostKeySha256: string;
  /** A user with a password (root runs only: created with useradd, removed on stop), or undefined. */
  passwordUser: { username: string; password: string; drop: string } | undefined;
  /** Lines sshd wrote to stderr (one "Accepted …" per authenticated connection, one "Starting session: subsystem 'sftp'" per SFTP channel). */
  log(): string;
  /** The SFTP requests the server logged (with the requestLog option), one per line. */
  requests(): string;
  /** SIGKILLs sshd and every process it started (the per-connection ones too): the server dies mid-operation. */
  kill(): Promise<void>;
  /** Starts sshd again on the same port with the same host key. */
  start(): Promise<void>;
  /** Kills it and removes the folder and the password user. Safe to call twice. */
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function keygen(path: string, extra: string[] = []): void {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'erpc-test', '-f', path, ...extra], { stdio: 'ignore' });
}

/** `SHA256:…` of a public key file, exactly as an operator would get it. */
export function fingerprintOfFile(pubPath: string): string {
  const out = execFileSync('ssh-keygen', ['-lf', pubPath], { encoding: 'utf8' });
  return out.split(' ')[1]!;
}

/** Every live process below `pid` (sshd forks one or more per connection). */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(name));
      children.set(ppid, list);
    } catch {
      // exited meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number): void => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

const live = new Set<ChildProcess>();
// Never leave an sshd behind, even when the test process ends without running afterAll.
process.once('exit', () => {
  for (const child of live) killTree(child);
});

function killTree(child: ChildProcess): void {
  if (child.pid === undefined) return;
  for (const pid of [child.pid, ...descendants(child.pid)]) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

async function waitForPort(port: number, child: ChildProcess, closed: () => boolean, log: () => string): Promise<void> {
  // sshd's own line (LogLevel VERBOSE), not a connect probe: a probe would also succeed against
  // another process that holds the port, while this sshd fails to bind it.
  const listening = `Server listening on 127.0.0.1 port ${port}.`;
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (log().includes(listening)) return;
    // 'close', not 'exit': stderr is read to its end by then, so the reason is in the log.
    if (closed()) throw new Error(`sshd exited (${child.exitCode}): ${log()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`sshd did not listen on ${port}: ${log()}`);
}

/**
 * Starts `sshd -D -e -f <generated config>` on a free 127.0.0.1 port: a generated ed25519 host
 * key, a generated client key in an AuthorizedKeysFile inside the temp folder, internal-sftp,
 * no PAM. As root, also a throwaway user with a random password for password authentication.
 */
export interface SshdOptions {
  /**
   * Serve SFTP with the sftp-server binary instead of internal-sftp, logging every request
   * (open, write, fsync, close, hardlink, rename, opendir…: -l DEBUG3) to `<dir>/sftp.log` (see {@link Sshd.requests}).
   */
  requestLog?: boolean;
  /** SFTP requests the server refuses (sftp-server -P), e.g. `['hardlink']`; implies requestLog. */
  deniedRequests?: string[];
  /** The first port to try (default: a free one); when it is taken, new free ports are tried. */
  port?: number;
}

export async function startSshd(options: SshdOptions = {}): Promise<Sshd> {
  const dir = mkdtempSync(join(tmpdir(), 'erpc-sshd-'));
  chmodSync(dir, 0o711); // the password user must reach its folder inside
  const drop = join(dir, 'drop');
  mkdirSync(drop);
  keygen(join(dir, 'host_ed25519'));
  keygen(join(dir, 'client'));
  execFileSync('cp', [join(dir, 'client'), join(dir, 'client_encrypted')]);
  const passphrase = `pp-${randomBytes(8).toString('hex')}`;
  execFileSync('ssh-keygen', ['-q', '-p', '-N', passphrase, '-f', join(dir, 'client_encrypted')], { stdio: 'ignore' });
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'client.pub')));
  let port = options.port ?? (await freePort());
  const username = IS_ROOT ? 'root' : execFileSync('id', ['-un'], { encoding: 'utf8' }).trim();

  let passwordUser: Sshd['passwordUser'];
  if (IS_ROOT) {
    const name = `erpcsftp${randomBytes(4).toString('hex')}`;
    const password = `pw-${randomBytes(12).toString('hex')}`;
    execFileSync('useradd', ['-M', '-d', dir, '-s', '/bin/sh', name], { stdio: 'ignore' });
    execFileSync('chpasswd', { input: `${name}:${password}\n` });
    const own = join(dir, 'password-drop');
    mkdirSync(own);
    const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }));
    const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }));
    chownSync(own, uid, gid);
    passwordUser = { username: name, password, drop: own };
  }
  if (IS_ROOT) mkdirSync('/run/sshd', { recursive: true }); // Debian's privilege separation directory

  let subsystem = 'Subsystem sftp internal-sftp';
  if (options.requestLog || options.deniedRequests) {
    // Run through the user's shell (sshd does that for a subsystem command), so stderr, where
    // sftp-server -e logs, can go to a file.
    writeFileSync(join(dir, 'sftp.log'), '', { mode: 0o666 });
    chmodSync(join(dir, 'sftp.log'), 0o666);
    const denied = options.deniedRequests?.length ? ` -P ${options.deniedRequests.join(',')}` : '';
    subsystem = `Subsystem sftp /usr/lib/openssh/sftp-server -e -l DEBUG3${denied} 2>>${join(dir, 'sftp.log')}`;
  }
  const writeConfig = (): void => writeFileSync(
    join(dir, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'host_ed25519')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'UsePAM no',
      'StrictModes no',
      'PermitRootLogin yes',
      'PubkeyAuthentication yes',
      'PasswordAuthentication yes',
      'KbdInteractiveAuthentication no',
      'MaxStartups 100:30:200',
      'MaxSessions 10',
      // VERBOSE: one "Starting session: subsystem 'sftp'" line per SFTP channel.
      'LogLevel VERBOSE',
      subsystem,
      '',
    ].join('\n'),
  );
  writeConfig();

  let child: ChildProcess | undefined;
  const requestLog = join(dir, 'sftp.log');
  let log = '';
  // What the last start's sshd logged (a restart's sshd: only what it logs counts).
  let startLog = '';
  const start = async (): Promise<void> => {
    const from = log.length;
    const c = spawn(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
    live.add(c);
    let closed = false;
    c.stderr!.setEncoding('utf8').on('data', (d: string) => {
      log += d;
    });
    c.once('exit', () => live.delete(c));
    c.once('close', () => (closed = true));
    child = c;
    try {
      await waitForPort(port, c, () => closed, () => log.slice(from));
    } finally {
      startLog = log.slice(from);
    }
  };
  const kill = async (): Promise<void> => {
    const c = child;
    if (!c) return;
    child = undefined;
    const exited = c.exitCode !== null ? Promise.resolve() : new Promise((r) => c.once('exit', r));
    killTree(c);
    await exited;
    // The per-connection processes are not our children: wait until they are gone too.
    for (let i = 0; i < 100 && c.pid !== undefined && descendants(c.pid).length > 0; i++) await new Promise((r) => setTimeout(r, 10));
  };
  let stopped = false;
  // The free port was closed again before sshd binds it: another process (a parallel test file's
  // client socket) may take it in between. Then sshd exits at once; a first start tries new ports.
  for (let tries = 1; ; tries++) {
    try {
      await start();
      break;
    } catch (err) {
      // An sshd that did not exit (it never said it listens) is killed, whatever comes next.
      await kill();
      if (tries >= 5 || !/Address already in use/.test(startLog)) throw err;
      port = await freePort();
      writeConfig();
    }
  }
  return {
    port,
    dir,
    drop,
    username,
    privateKey: readFileSync(join(dir, 'client'), 'utf8'),
    encryptedKey: readFileSync(join(dir, 'client_encrypted'), 'utf8'),
    passphrase,
    hostKeySha256: fingerprintOfFile(join(dir, 'host_ed25519.pub')),
    passwordUser,
    log: () => log,
    requests: () => (existsSync(requestLog) ? readFileSync(requestLog, 'utf8') : ''),
    kill,
    start,
    async stop() {
      if (stopped) return;
      stopped = true;
      await kill();
      if (passwordUser) {
        try {
          execFileSync('userdel', [passwordUser.username], { stdio: 'ignore' });
        } catch {
          // already gone
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A key pair the server does not know, and another host key's fingerprint. */
export function strangerKeys(dir: string): { privateKey: string; otherHostKeySha256: string } {
  const base = mkdtempSync(join(dir, 'stranger-'));
  keygen(join(base, 'user'));
  keygen(join(base, 'host'));
  return { privateKey: readFileSync(join(base, 'user'), 'utf8'), otherHostKeySha256: fingerprintOfFile(join(base, 'host.pub')) };
}
