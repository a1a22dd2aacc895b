/**
 * A multi-container application from a compose file — `docker compose up -d`, `ps`, `port`,
 * `logs`, `down`: a web service built from a Dockerfile with a published port, and a client
 * service that depends on it and reaches it by its service name on the project's network.
 *
 *   node examples/run.js compose
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Compose, loadProject } from '@ctr/compose';
import { fetchText } from './lib/http';
import { sandbox } from './lib/sandbox';

const COMPOSE_YAML = `services:
  web:
    build: .
    ports:
      - "127.0.0.1::8000"       # a free host port, as "8000" alone would give on every address
  client:
    image: busybox
    depends_on: [web]
    command: sh -c 'wget -q -O - http://web:8000/ && sleep 1000'
`;

export async function main(_args: string[] = [], log: (line: string) => void = console.log): Promise<{ served: string; clientSaw: string[]; services: string[]; afterDown: number }> {
  const { engine, cleanup } = await sandbox('compose');
  const dir = await mkdtemp(join(tmpdir(), 'ctr-example-compose-'));
  let compose: Compose | undefined;
  try {
    await writeFile(join(dir, 'Dockerfile'), 'FROM busybox\nRUN mkdir /www && echo "hello from web" > /www/index.html\nCMD ["httpd", "-f", "-p", "8000", "-h", "/www"]\n');
    await writeFile(join(dir, 'compose.yaml'), COMPOSE_YAML);
    const project = await loadProject({ cwd: dir, projectName: 'demo' });
    compose = new Compose(engine, project);
    await compose.up({ onProgress: (e) => e.done && log(`${e.resource} ${e.name}  ${e.status}`) });

    const rows = await compose.ps();
    for (const row of rows) log(`${row.Name}  ${row.Service}  ${row.Status}  ${row.Ports}`);
    const address = await compose.port('web', 8000);
    const served = await fetchText(`http://${address}/`);
    log(`GET http://${address}/ -> ${served}`);

    const clientSaw: string[] = [];
    for (let tries = 0; clientSaw.length === 0 && tries < 50; tries++) {
      for await (const entry of compose.logs({ services: ['client'] })) clientSaw.push(entry.line);
      if (clientSaw.length === 0) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    log(`client logs: ${clientSaw.join(' | ')}`);

    await compose.down({ timeout: 1 });
    const afterDown = (await engine.ps({ all: true })).length;
    log(`after down: ${afterDown} containers`);
    return { served, clientSaw, services: rows.map((r) => r.Service), afterDown };
  } finally {
    await compose?.down({ timeout: 0 }).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    await cleanup();
  }
}
