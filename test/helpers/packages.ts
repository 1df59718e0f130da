/** Test helpers for the install pipeline: temp folders, a counting HTTP server, tar and zip builders. */
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import * as tar from 'tar';

export async function makeTempDir(prefix = 'appstreamd-install-'): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), prefix));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

export type Route = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export interface TestServer {
  /** e.g. http://127.0.0.1:12345 */
  origin: string;
  port: number;
  /** How many requests reached the server, on any path. */
  requests(): number;
  close(): Promise<void>;
}

/** A loopback server answering from `routes` (404 otherwise) and counting every request. */
export async function startServer(routes: Record<string, Route>): Promise<TestServer> {
  let count = 0;
  const server = http.createServer((req, res) => {
    count += 1;
    const route = routes[new URL(req.url ?? '/', 'http://x').pathname];
    if (route) route(req, res);
    else {
      res.statusCode = 404;
      res.end('not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    requests: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A route that serves fixed bytes (with Content-Length unless `chunked`). */
export function serveBytes(body: Buffer, options: { chunked?: boolean } = {}): Route {
  return (_req, res) => {
    res.statusCode = 200;
    res.setHeader('content-type', 'application/octet-stream');
    if (options.chunked) {
      // No Content-Length: the body is sent in pieces, so only streaming can enforce the cap.
      const piece = 64 * 1024;
      let offset = 0;
      const pump = (): void => {
        while (offset < body.length) {
          const ok = res.write(body.subarray(offset, offset + piece));
          offset += piece;
          if (!ok) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      res.on('error', () => undefined);
      pump();
    } else {
      res.setHeader('content-length', String(body.length));
      res.end(body);
    }
  };
}

export interface TreeFile {
  path: string;
  content: string | Buffer;
  mode?: number;
}

/** Writes files into a fresh folder under `workDir`, then packs the folder as .tar.gz with the tar package. */
export async function makeTarGz(workDir: string, files: TreeFile[]): Promise<Buffer> {
  const source = await mkdtemp(path.join(workDir, 'src-'));
  for (const file of files) {
    const target = path.join(source, file.path);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, file.content);
    await chmod(target, file.mode ?? 0o644);
  }
  const archive = path.join(workDir, `pkg-${Date.now()}-${Math.random().toString(16).slice(2)}.tar.gz`);
  await tar.c({ gzip: true, cwd: source, file: archive, portable: true }, ['.']);
  return readFile(archive);
}

export interface RawTarEntry {
  name: string;
  /** '0' file, '1' hard link, '2' symlink, '3' char device, '5' folder, '6' fifo */
  type: '0' | '1' | '2' | '3' | '5' | '6';
  data?: Buffer | string;
  linkname?: string;
  mode?: number;
}

function writeField(header: Buffer, offset: number, length: number, text: string): void {
  header.write(text, offset, Math.min(length, Buffer.byteLength(text)), 'utf8');
}

function octal(value: number, length: number): string {
  return value.toString(8).padStart(length - 1, '0') + '\0';
}

/** A hand-made ustar archive, so tests can write entries no well-behaved tool would. */
export function rawTar(entries: RawTarEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const data = Buffer.from(entry.data ?? '');
    const header = Buffer.alloc(512);
    writeField(header, 0, 100, entry.name);
    writeField(header, 100, 8, octal(entry.mode ?? (entry.type === '5' ? 0o755 : 0o644), 8));
    writeField(header, 108, 8, octal(0, 8));
    writeField(header, 116, 8, octal(0, 8));
    writeField(header, 124, 12, octal(entry.type === '0' ? data.length : 0, 12));
    writeField(header, 136, 12, octal(0, 12));
    header.fill(' ', 148, 156);
    writeField(header, 156, 1, entry.type);
    writeField(header, 157, 100, entry.linkname ?? '');
    writeField(header, 257, 6, 'ustar\0');
    writeField(header, 263, 2, '00');
    let sum = 0;
    for (const byte of header) sum += byte;
    writeField(header, 148, 8, sum.toString(8).padStart(6, '0') + '\0 ');
    blocks.push(header);
    if (entry.type === '0' && data.length > 0) {
      blocks.push(data, Buffer.alloc((512 - (data.length % 512)) % 512));
    }
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

export function gzip(data: Buffer): Buffer {
  return zlib.gzipSync(data);
}

export interface ZipEntrySpec {
  name: string;
  data?: Buffer | string;
  /** Unix mode including the file type bits, e.g. 0o100755 or 0o120777 for a symlink. */
  mode?: number;
  deflate?: boolean;
  /** Lie about the uncompressed size in the headers. */
  claimedSize?: number;
}

/** A minimal zip writer (stored or deflated entries, Unix attributes), written for these tests. */
export function makeZip(entries: ZipEntrySpec[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const data = Buffer.from(entry.data ?? '');
    const body = entry.deflate ? zlib.deflateRawSync(data) : data;
    const name = Buffer.from(entry.name, 'utf8');
    const crc = zlib.crc32(data);
    const method = entry.deflate ? 8 : 0;
    const size = entry.claimedSize ?? data.length;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(0, 10);
    local.writeUInt16LE(0x21, 12); // 1980-01-01
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    locals.push(local, name, body);

    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4); // made by Unix
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt16LE(0, 12);
    central.writeUInt16LE(0x21, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt16LE(0, 30);
    central.writeUInt16LE(0, 32);
    central.writeUInt16LE(0, 34);
    central.writeUInt16LE(0, 36);
    central.writeUInt32LE(((entry.mode ?? 0o100644) << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);
    offset += local.length + name.length + body.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}
