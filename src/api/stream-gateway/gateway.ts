/**
 * The WebSocket entry point of a live session: `GET /stream/{sessionId}?token=...` with an
 * Upgrade. The connect token (single-use, 30 s) and the Origin are checked BEFORE the
 * upgrade; failures are plain HTTP answers (404 / 401 / 410 / 409 / 403) in the AWS error shape.
 * It sits above the supervisor: it only translates WebSocket frames to supervisor calls.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { ApiError } from '../../errors/api-error.js';
import { rawErrorResponse } from '../../http/error-renderer.js';
import { sha256Hex } from '../../sessions/entitlement-tokens.js';
import type { SessionSupervisor } from '../../sessions/supervisor.js';
import type { ClientPort } from '../../stream/index.js';
import type { SessionsRepo } from '../../store/sessions-repo.js';
import { UUID_RE } from '../validate.js';

export interface GatewayDeps {
  sessions: SessionsRepo;
  supervisor: SessionSupervisor;
  publicUrl(): string;
  pingIntervalMs?: number;
}


const STREAM_PATH = /^\/stream\/([^/?#]+)\/?(?:\?(.*))?$/;

function refuse(socket: Duplex, status: number, err: ApiError): void {
  const text = rawErrorResponse(err, randomUUID(), status).replace(/^HTTP\/1\.1 \d+ [^\r]*/, `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}`);
  socket.end(text);
}

const STATUS_TEXT: Record<number, string> = { 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 409: 'Conflict', 410: 'Gone' };

/** Browsers send Origin: it must be the server's own public origin (or the Host it was reached on). */
export function originAllowed(origin: string | undefined, host: string | undefined, publicUrl: string): boolean {
  if (origin === undefined) return true; // not a browser: the connect token is the whole check
  let o: URL;
  try {
    o = new URL(origin);
  } catch {
    return false;
  }
  if (o.origin === new URL(publicUrl).origin) return true;
  return host !== undefined && (o.host === host);
}

export function installStreamGateway(app: FastifyInstance, deps: GatewayDeps): void {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024, handleProtocols: (protocols) => (protocols.has('binary') ? 'binary' : false) });

  app.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    void handleUpgrade(req, socket, head).catch((err: unknown) => {
      app.log.error({ err }, 'stream upgrade failed');
      refuse(socket, 500, new ApiError('InternalFailure'));
    });
  });

  async function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const match = STREAM_PATH.exec(req.url ?? '');
    if (!match || !UUID_RE.test(match[1]!)) return refuse(socket, 404, new ApiError('ResourceNotFoundException'));
    const sessionId = match[1]!;
    if (!originAllowed(req.headers.origin, req.headers.host, deps.publicUrl())) {
      return refuse(socket, 403, new ApiError('AccessDeniedException', 'The Origin of this connection is not allowed.'));
    }
    const token = new URLSearchParams(match[2] ?? '').get('token');
    if (!token || token.length > 128) return refuse(socket, 401, new ApiError('InvalidConnectTokenException'));
    const outcome = await deps.sessions.consumeConnectToken(sessionId, sha256Hex(token));
    switch (outcome.kind) {
      case 'no-session':
        return refuse(socket, 404, new ApiError('ResourceNotFoundException', 'No such session.'));
      case 'bad-token':
        return refuse(socket, 401, new ApiError('InvalidConnectTokenException'));
      case 'used-or-expired':
        return refuse(socket, 410, new ApiError('EntitlementExpiredException', 'The connect token was already used or has expired.'));
      case 'ok':
        break;
    }
    if (!deps.supervisor.isLive(sessionId)) return refuse(socket, 409, new ApiError('ConflictException', 'The session has no running program on this server.'));
    wss.handleUpgrade(req, socket, head, (ws) => void bridge(ws, sessionId));
  }

  async function bridge(ws: WebSocket, sessionId: string): Promise<void> {
    const port: ClientPort = {
      send(data) {
        if (ws.readyState === ws.OPEN) ws.send(data, { binary: true });
      },
      close(code, reason) {
        if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(code, reason);
      },
    };
    let alive = true;
    const ping = setInterval(() => {
      if (!alive) return ws.terminate();
      alive = false;
      ws.ping();
    }, deps.pingIntervalMs ?? 15_000);
    ws.on('pong', () => (alive = true));
    ws.on('message', (data: RawData, isBinary: boolean) => {
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      if (isBinary) return deps.supervisor.input(sessionId, buf);
      // Text frames are control messages: {"type":"resize","cols":N,"rows":N} or {"type":"input","data":"..."}
      try {
        const msg = JSON.parse(buf.toString('utf8')) as { type?: string; cols?: number; rows?: number; data?: string };
        if (msg.type === 'resize' && Number.isInteger(msg.cols) && Number.isInteger(msg.rows)) deps.supervisor.resize(sessionId, msg.cols!, msg.rows!);
        else if (msg.type === 'input' && typeof msg.data === 'string') deps.supervisor.input(sessionId, Buffer.from(msg.data, 'utf8'));
      } catch {
        // not a control message: ignore
      }
    });
    ws.on('close', () => {
      clearInterval(ping);
      deps.supervisor.detach(sessionId, port);
    });
    ws.on('error', () => ws.terminate());
    if (!(await deps.supervisor.attach(sessionId, port))) ws.close(4000, 'SESSION_ENDED');
  }
}
