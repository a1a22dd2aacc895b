import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { issueRegistryToken, type AccessGrant } from '@ctr/registry';

/** A Docker token service on 127.0.0.1 for a ctr registry in `token` auth mode. */
export interface TokenService {
  /** The realm: `http://127.0.0.1:<port>/token`. */
  url: string;
  requests: { authorization?: string; scopes: string[] }[];
  /** Lifetime of the tokens it issues (what the JWT says, not what expires_in claims). */
  lifetime: number;
  server: Server;
  stop(): Promise<void>;
}

/** Issues HS256 tokens for the scopes asked, to users who give their Basic password. */
export async function startTokenService(options: { secret: string; service: string; users: Record<string, string> }): Promise<TokenService> {
  const server = createServer();
  const service: TokenService = {
    url: '',
    requests: [],
    lifetime: 300,
    server,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
  server.on('request', (req: IncomingMessage, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const scopes = url.searchParams.getAll('scope');
    service.requests.push({ ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}), scopes });
    const [user, password] = Buffer.from((req.headers.authorization ?? '').replace(/^Basic /, ''), 'base64').toString().split(':');
    if (user === undefined || options.users[user] !== password) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"incorrect username or password"}');
      return;
    }
    const access: AccessGrant[] = scopes.map((scope) => {
      const [type, name, actions] = scope.split(':') as [string, string, string];
      // `registry:catalog:search` (a search) is a grant of the catalog, not of a repository named catalog.
      if (type === 'registry') return { type, name, actions: actions.split(',') };
      return { type: 'repository', name, actions: actions.split(',') as Extract<AccessGrant, { type: 'repository' }>['actions'] };
    });
    const token = issueRegistryToken({ secret: options.secret, service: options.service, access, subject: user, expiresInSeconds: service.lifetime });
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, expires_in: 300 }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  service.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
  return service;
}
