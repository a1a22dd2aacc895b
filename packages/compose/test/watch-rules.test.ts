/**
 * compose watch's rules as read from compose files (no engine): what a changed path means for
 * each rule, the ignores compose adds, its errors and warnings, and its words for what happens.
 */
import { join } from 'node:path';
import { watchEventText, watchRules, type WatchEvent } from '../src/watch';
import { fixture, load, removeFixtures } from './load-support';
import { loadProject } from '../src/load';

afterAll(removeFixtures);

const web = (rules: string, extra = ''): string => `services:\n  web:\n    image: busybox\n${extra}    develop:\n      watch:\n${rules}`;

describe('a rule', () => {
  test('maps a changed path under its path to the same place under its target', async () => {
    const project = await load({ 'compose.yaml': web('        - path: ./src\n          action: sync\n          target: /app\n') });
    const [rule] = (await watchRules(project)).rules;
    expect(rule?.trigger.path).toBe(join(project.working_dir, 'src'));
    expect(rule?.match(join(project.working_dir, 'src', 'lib', 'a.js'))).toEqual({ host: join(project.working_dir, 'src', 'lib', 'a.js'), container: '/app/lib/a.js' });
    expect(rule?.match(join(project.working_dir, 'other', 'a.js'))).toBeUndefined();
  });

  test('leaves out what its ignore patterns match, relative to its path', async () => {
    const project = await load({ 'compose.yaml': web('        - path: ./src\n          action: sync\n          target: /app\n          ignore: ["*.log", "cache/"]\n') });
    const [rule] = (await watchRules(project)).rules;
    const at = (file: string): string => join(project.working_dir, 'src', file);
    expect(rule?.match(at('debug.log'))).toBeUndefined();
    expect(rule?.match(at('cache/x'))).toBeUndefined();
    expect(rule?.match(at('lib/debug.log'))).toBeDefined();
  });

  test('leaves out .git and editors\' swap files wherever they are', async () => {
    const project = await load({ 'compose.yaml': web('        - path: .\n          action: sync\n          target: /app\n') });
    const [rule] = (await watchRules(project)).rules;
    for (const file of ['.git/HEAD', 'sub/.git/config', 'src/.main.c.swp', 'src/main.c~', 'src/4913']) expect(rule?.match(join(project.working_dir, file))).toBeUndefined();
    expect(rule?.match(join(project.working_dir, 'src/main.c'))).toBeDefined();
  });

  test('with include patterns, acts only on what they match', async () => {
    const project = await load({ 'compose.yaml': web('        - path: ./src\n          action: sync\n          target: /app\n          include: ["*.js"]\n') });
    const [rule] = (await watchRules(project)).rules;
    expect(rule?.match(join(project.working_dir, 'src', 'a.js'))).toBeDefined();
    expect(rule?.match(join(project.working_dir, 'src', 'a.css'))).toBeUndefined();
  });

  test('leaves out what the service\'s build context .dockerignore excludes, its Dockerfile\'s own ignore file first', async () => {
    const dir = await fixture({
      'compose.yaml': 'services:\n  web:\n    build:\n      context: .\n      dockerfile: web.Dockerfile\n    develop:\n      watch:\n        - path: .\n          action: rebuild\n',
      'web.Dockerfile': 'FROM busybox\n',
      'web.Dockerfile.dockerignore': 'node_modules\n',
      '.dockerignore': 'dist\n',
    });
    const [rule] = (await watchRules(await loadProject({ env: {}, cwd: dir }))).rules;
    expect(rule?.match(join(dir, 'node_modules', 'x', 'index.js'))).toBeUndefined();
    expect(rule?.match(join(dir, 'dist', 'bundle.js'))).toBeDefined();
  });

  test('of a sync whose path a bind mount brings in already is left out, with compose\'s warning', async () => {
    const project = await load({ 'compose.yaml': web('        - path: ./src\n          action: sync\n          target: /app\n        - path: ./conf\n          action: sync\n          target: /conf\n', '    volumes: ["./src:/app"]\n') });
    const { rules, warnings } = await watchRules(project);
    expect(rules.map((rule) => rule.trigger.target)).toEqual(['/conf']);
    expect(warnings).toEqual([`path '${join(project.working_dir, 'src')}' also declared by a bind mount volume, this path won't be monitored!`]);
  });
});

describe('the services watched', () => {
  test('are the named ones and what they depend on', async () => {
    const rule = (path: string): string => `    develop:\n      watch:\n        - path: ${path}\n          action: sync\n          target: /app\n`;
    const project = await load({
      'compose.yaml': `services:\n  web:\n    image: busybox\n    depends_on: [db]\n${rule('./web')}  db:\n    image: busybox\n${rule('./db')}  other:\n    image: busybox\n${rule('./other')}`,
    });
    expect((await watchRules(project, { services: ['web'] })).rules.map((r) => r.service).sort()).toEqual(['db', 'web']);
  });
});

describe("compose's errors", () => {
  test('for a selection with no develop section', async () => {
    const project = await load({ 'compose.yaml': 'services:\n  web:\n    image: busybox\n' });
    await expect(watchRules(project)).rejects.toThrow("none of the selected services is configured for watch, consider setting a 'develop' section");
  });

  test('for a rebuild rule of a service with no build', async () => {
    const project = await load({ 'compose.yaml': web('        - path: .\n          action: rebuild\n') });
    await expect(watchRules(project)).rejects.toThrow('can\'t watch service "web" with action rebuild without a build context');
  });

  test('for a sync rule without a target', async () => {
    const project = await load({ 'compose.yaml': web('        - path: .\n          action: sync\n') });
    await expect(watchRules(project)).rejects.toThrow('services.web.develop.watch: target is required for non-rebuild actions');
  });

  test('for an action compose does not know', async () => {
    const project = await load({ 'compose.yaml': web('        - path: .\n          action: copy\n          target: /app\n') });
    await expect(watchRules(project)).rejects.toThrow('services.web.develop.watch.0.action must be one of "rebuild", "sync", "restart", "sync+restart", "sync+exec"');
  });

  test('for a sync+exec rule without a command', async () => {
    const project = await load({ 'compose.yaml': web('        - path: .\n          action: sync+exec\n          target: /app\n') });
    await expect(watchRules(project)).rejects.toThrow('can\'t watch with action "sync+exec" on service web without a command');
  });

  test('from the loader, for watch rules that are not a list', async () => {
    await expect(load({ 'compose.yaml': 'services:\n  web:\n    image: busybox\n    develop:\n      watch: ./src\n' })).rejects.toThrow('services.web.develop.watch must be a list');
  });
});

test("the events in compose's words", () => {
  const events: [WatchEvent, string][] = [
    [{ type: 'enabled' }, 'Watch enabled'],
    [{ type: 'disabled' }, 'Watch disabled'],
    [{ type: 'syncing', service: 'web', paths: [{ host: '/p/a', container: '/app/a' }] }, 'Syncing service "web" after 1 changes were detected'],
    [{ type: 'rebuilding', services: ['web', 'api'] }, 'Rebuilding service(s) ["web" "api"] after changes were detected...'],
    [{ type: 'built', services: ['web'] }, 'service(s) ["web"] successfully built'],
    [{ type: 'restarted', services: ['web'] }, 'service(s) ["web"] restarted'],
    [{ type: 'failed', step: 'build', error: new Error('boom') }, 'Build failed. Error: boom'],
    [{ type: 'failed', step: 'changes', error: new Error('boom') }, 'Error handling changed files: boom'],
  ];
  for (const [event, text] of events) expect(watchEventText(event)).toBe(text);
});
