import { serviceFilter, taskFilter } from '../src/filters';
import type { Node, Service, Task } from '../src/types';

const service = (ID: string, Name: string, extra: Partial<Service['Spec']> = {}): Service => ({
  ID,
  Version: { Index: 1 },
  CreatedAt: '',
  UpdatedAt: '',
  Spec: { Name, Labels: {}, TaskTemplate: { ContainerSpec: { Image: 'busybox' } }, Mode: { Replicated: { Replicas: 1 } }, ...extra },
  Endpoint: { Spec: {} },
});
const node = { ID: 'node1', Description: { Hostname: 'host' } } as Node;
const task = (ID: string, ServiceID: string, Slot: number, DesiredState: Task['DesiredState']): Task => ({
  ID,
  Version: { Index: 1 },
  CreatedAt: '',
  UpdatedAt: '',
  Spec: {},
  ServiceID,
  Slot,
  NodeID: 'node1',
  Status: { Timestamp: '', State: 'running', Message: '' },
  DesiredState,
  Labels: {},
});

const web = service('aaa111', 'web', { Labels: { tier: 'front' } });
const worker = service('bbb222', 'worker', { Mode: { Global: {} } });

describe('service filters', () => {
  it('selects by name and ID prefix, label and mode', () => {
    const names = (filters: Record<string, string[]>): string[] => [web, worker].filter(serviceFilter(filters)).map((s) => s.Spec.Name);
    expect(names({ name: ['wo'] })).toEqual(['worker']);
    expect(names({ id: ['aaa'] })).toEqual(['web']);
    expect(names({ label: ['tier'] })).toEqual(['web']);
    expect(names({ label: ['tier=back'] })).toEqual([]);
    expect(names({ mode: ['global'] })).toEqual(['worker']);
  });

  it('refuses an unknown key or mode', () => {
    expect(() => serviceFilter({ colour: ['red'] })).toThrow("invalid filter 'colour'");
    expect(() => serviceFilter({ mode: ['sometimes'] })).toThrow("Invalid filter: 'mode'='sometimes'");
  });
});

describe('task filters', () => {
  const tasks = [task('t1', 'aaa111', 1, 'running'), task('t2', 'aaa111', 2, 'shutdown'), task('t3', 'bbb222', 0, 'running')];
  const ids = (filters: Record<string, string[]>): string[] => tasks.filter(taskFilter(filters, [web, worker], [node])).map((t) => t.ID);

  it('selects by service name, task name prefix, node and desired state', () => {
    expect(ids({ service: ['web'] })).toEqual(['t1', 't2']);
    expect(ids({ name: ['web.2'] })).toEqual(['t2']);
    expect(ids({ node: ['host'] })).toEqual(['t1', 't2', 't3']);
    expect(ids({ 'desired-state': ['running'] })).toEqual(['t1', 't3']);
  });

  it('selects with _up-to-date the tasks made from their service\'s current template (what the docker CLI polls)', () => {
    const current = { ...tasks[0], ID: 'new', Spec: web.Spec.TaskTemplate };
    const selected = [...tasks, current].filter(taskFilter({ service: ['web'], '_up-to-date': ['true'] }, [web, worker], [node])).map((t) => t.ID);
    expect(selected).toEqual(['new']);
  });

  const madeWith = (t: Task, Labels: Record<string, string>): Task => ({ ...t, ServiceAnnotations: { Labels } });
  const labelled = (filters: Record<string, string[]>, all: readonly Task[]): string[] => all.filter(taskFilter(filters, [web, worker], [node])).map((t) => t.ID);

  it("selects by label the tasks whose service had it when they were made, as swarmkit's ListTasks (docker stack ps)", () => {
    const made = [madeWith(tasks[0]!, { tier: 'front' }), madeWith(tasks[1]!, {}), madeWith(tasks[2]!, { tier: 'back' })];
    expect(labelled({ label: ['tier=front'] }, made)).toEqual(['t1']);
    expect(labelled({ label: ['tier=back'] }, made)).toEqual(['t3']);
  });

  it("selects by label a removed service's tasks, by the labels they were made with", () => {
    const leaving = madeWith(task('t9', 'gone', 1, 'remove'), { 'com.docker.stack.namespace': 'x' });
    expect(labelled({ label: ['com.docker.stack.namespace=x'] }, [...tasks, leaving])).toEqual(['t9']);
  });

  it("selects by label a task recorded without its service's labels by its service's current ones", () => {
    expect(ids({ label: ['tier=front'] })).toEqual(['t1', 't2']);
    expect(ids({ label: ['tier=back'] })).toEqual([]);
  });

  it('refuses an unknown service or desired state', () => {
    expect(() => taskFilter({ service: ['nosuch'] }, [web], [node])).toThrow('service nosuch not found');
    expect(() => taskFilter({ 'desired-state': ['sleeping'] }, [web], [node])).toThrow("Invalid task desired-state filter: 'sleeping'");
  });
});
