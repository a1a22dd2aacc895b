import { taskFilter } from '../src/filters';
import type { Node, Service, Task } from '../src/types';

const service = (ID: string, Labels: Record<string, string>): Service => ({
  ID,
  Version: { Index: 1 },
  CreatedAt: '',
  UpdatedAt: '',
  Spec: { Name: ID, Labels, TaskTemplate: { ContainerSpec: { Image: 'busybox' } }, Mode: { Replicated: { Replicas: 1 } } },
  Endpoint: { Spec: {} },
});
const task = (ID: string, ServiceID: string): Task => ({
  ID,
  Version: { Index: 1 },
  CreatedAt: '',
  UpdatedAt: '',
  Spec: {},
  ServiceID,
  Slot: 1,
  NodeID: 'node1',
  Status: { Timestamp: '', State: 'running', Message: '' },
  DesiredState: 'running',
  Labels: {},
});

test("a task label filter matches its service's labels, as swarmkit's ListTasks does (docker stack ps)", () => {
  const services = [service('app', { 'com.docker.stack.namespace': 's' }), service('other', {})];
  const tasks = [task('t1', 'app'), task('t2', 'other')];
  const nodes = [{ ID: 'node1', Description: { Hostname: 'host' } } as Node];
  expect(tasks.filter(taskFilter({ label: ['com.docker.stack.namespace=s'] }, services, nodes)).map((t) => t.ID)).toEqual(['t1']);
});
