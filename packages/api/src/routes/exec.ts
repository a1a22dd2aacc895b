import { PassThrough } from 'node:stream';
import { isDetached, parseDetachKeys, type ExecControl } from '@ctr/engine';
import { conflict, invalidArgument, isCtrError } from '@ctr/errors';
import { clientGone, openRawSession, sendEmpty, sendJson } from '../call';
import { Fields } from '../fields';
import { describe, readJsonObject } from '../request-body';
import { callBody, route, type Route } from '../router';
import type { Services } from '../services';
import { STDERR, STDOUT, framedWriter } from '../stdcopy';

/** `ConsoleSize: [height, width]` of an exec start (API 1.42+); absent or `[0, 0]` means none. */
function parseConsoleSize(value: unknown): { height: number; width: number } | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.length !== 2 || !value.every((n) => Number.isSafeInteger(n) && (n as number) >= 0)) {
    throw invalidArgument(`invalid ConsoleSize: expected [height, width], got ${describe(value)}`);
  }
  const [height, width] = value as [number, number];
  return height === 0 && width === 0 ? undefined : { height, width };
}

/** The exit code dockerd records for an exec that could not start: the runtime's (127 not found, 126 not runnable), else 126. */
function failedExecCode(error: unknown): number {
  return isCtrError(error) && typeof error.details.exitCode === 'number' ? error.details.exitCode : 126;
}

export function execRoutes({ engine, execs }: Services): Route[] {
  return [
    route('POST', '/containers/:id/exec', async (call) => {
      const body = new Fields(await readJsonObject(call.req), '');
      const cmd = body.strings('Cmd', { single: true });
      if (!cmd || cmd.length === 0) throw invalidArgument('No exec command specified');
      const info = await engine.inspect(call.params[0] as string);
      if (!info.State.Running) throw conflict(`container ${info.Id} is not running`);
      if (info.State.Paused) throw conflict(`Container ${info.Id} is paused, unpause the container before exec`);
      const env = body.strings('Env');
      const user = body.string('User');
      const workingDir = body.string('WorkingDir');
      const detachKeys = body.string('DetachKeys') || undefined;
      if (detachKeys) parseDetachKeys(detachKeys, 'escape');
      const session = execs.create(info.Id, {
        cmd,
        ...(env ? { env } : {}),
        ...(user ? { user } : {}),
        ...(workingDir ? { workingDir } : {}),
        tty: body.bool('Tty') ?? false,
        privileged: body.bool('Privileged') ?? false,
        attachStdin: body.bool('AttachStdin') ?? false,
        attachStdout: body.bool('AttachStdout') ?? false,
        attachStderr: body.bool('AttachStderr') ?? false,
        ...(detachKeys ? { detachKeys } : {}),
      });
      sendJson(call, 201, { Id: session.id });
    }),
    route('POST', '/exec/:id/start', async (call) => {
      const session = execs.get(call.params[0] as string);
      const request = await callBody(call);
      const body = new Fields(request, '');
      const consoleSize = parseConsoleSize(request.ConsoleSize);
      if (session.started) throw conflict(`Error: Exec command ${session.id} has already run`);
      session.started = true;
      session.running = true;
      const { config } = session;
      const tty = body.bool('Tty') ?? config.tty;
      const base = {
        // The exec instance's ID, which its exec_create, exec_start and exec_die events name.
        execId: session.id,
        cmd: config.cmd,
        tty,
        privileged: config.privileged,
        ...(config.env ? { env: config.env } : {}),
        ...(config.user ? { user: config.user } : {}),
        ...(config.workingDir ? { workingDir: config.workingDir } : {}),
        ...(consoleSize && tty ? { consoleSize } : {}),
        onStart: (control: ExecControl) => execs.running(session, control),
      };
      if (body.bool('Detach')) {
        // As dockerd's: the answer waits for the process to run, and one that cannot is the start's error.
        await new Promise<void>((running, failed) => {
          const onStart = (control: ExecControl): void => {
            base.onStart(control);
            running();
          };
          engine.exec(session.containerId, { ...base, onStart }).then(
            (result) => {
              execs.finished(session, result.exitCode);
              running();
            },
            (error: unknown) => {
              execs.finished(session, failedExecCode(error));
              failed(error);
            },
          );
        });
        if (call.res) sendEmpty(call, 200);
        else call.upgrade?.socket.end('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      const raw = openRawSession(call, tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream');
      const gone = clientGone(call);
      try {
        const result = await engine.exec(session.containerId, {
          ...base,
          signal: gone,
          ...(config.detachKeys ? { detachKeys: config.detachKeys } : {}),
          ...(config.attachStdout ? { stdout: framedWriter(raw.output, STDOUT, tty) } : {}),
          ...(config.attachStderr ? { stderr: framedWriter(raw.output, tty ? STDOUT : STDERR, tty) } : {}),
          ...(config.attachStdin ? { stdin: raw.input.pipe(new PassThrough()) } : {}),
        });
        execs.finished(session, result.exitCode);
      } catch (error) {
        if (isDetached(error) || gone.aborted) {
          execs.detached(session);
          return raw.close();
        }
        // The stream is already open: say what went wrong on it, on stdout as dockerd does, and record the failure.
        execs.finished(session, failedExecCode(error));
        const message = `${(error as Error).message}\r\n`;
        if (tty) raw.output.write(message);
        else framedWriter(raw.output, STDOUT, false).write(message);
      }
      raw.close();
    }, { hijack: true }),
    route('GET', '/exec/:id/json', async (call) => {
      sendJson(call, 200, execs.inspect(execs.get(call.params[0] as string)));
    }),
    route('POST', '/exec/:id/resize', async (call) => {
      const session = execs.get(call.params[0] as string);
      const height = call.query.int('h');
      const width = call.query.int('w');
      if (height === undefined || width === undefined) throw invalidArgument('both h and w are required: exec/{id}/resize?h=ROWS&w=COLUMNS');
      await execs.resize(session, { height, width });
      sendEmpty(call, 200);
    }),
  ];
}
