/**
 * `x-develop`: where compose read a service's watch rules before `develop` (compose 2.22). It
 * still reads them there when the service has no `develop`, with a deprecation warning.
 */
import { join } from 'node:path';
import { watchRules, watchTriggers } from '../src/watch';
import { load, removeFixtures } from './load-support';

afterAll(removeFixtures);

const service = (sections: string): string => `services:\n  web:\n    image: busybox\n${sections}`;
const section = (key: string, path: string, target: string): string => `    ${key}:\n      watch:\n        - path: ${path}\n          action: sync\n          target: ${target}\n`;

test('a service with x-develop and no develop is watched by its x-develop rules, with compose\'s warning', async () => {
  const project = await load({ 'compose.yaml': service(section('x-develop', './src', '/app')) });
  const { rules, warnings } = await watchRules(project);
  expect(rules.map((rule) => ({ service: rule.service, path: rule.trigger.path, action: rule.trigger.action, target: rule.trigger.target }))).toEqual([
    { service: 'web', path: join(project.working_dir, 'src'), action: 'sync', target: '/app' },
  ]);
  expect(warnings).toEqual(['x-develop is DEPRECATED, please use the official `develop` attribute']);
});

test('develop wins over x-develop in a service that has both', async () => {
  const project = await load({ 'compose.yaml': service(section('develop', './new', '/new') + section('x-develop', './old', '/old')) });
  expect(watchTriggers(project, project.services.web!)?.map((trigger) => trigger.target)).toEqual(['/new']);
});

test('an x-develop whose watch is no list is refused, named where it is', async () => {
  const project = await load({ 'compose.yaml': service('    x-develop:\n      watch: ./src\n') });
  expect(() => watchTriggers(project, project.services.web!)).toThrow('services.web.x-develop.watch must be a list');
});
