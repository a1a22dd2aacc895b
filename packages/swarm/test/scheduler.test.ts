import { eligibleNodes, nodeKeepsTasks, nodeMatches, parseConstraints, scheduleTask } from '../src/scheduler';
import type { Node, Service, Task, TaskState } from '../src/types';

const meta = { Version: { Index: 1 }, CreatedAt: '2024-01-01T00:00:00Z', UpdatedAt: '2024-01-01T00:00:00Z' };

function node(id: string, extra: { role?: 'manager' | 'worker'; availability?: 'active' | 'pause' | 'drain'; state?: Node['Status']['State']; labels?: Record<string, string>; engineLabels?: Record<string, string>; hostname?: string; arch?: string } = {}): Node {
  return {
    ...meta,
    ID: id,
    Spec: { Labels: extra.labels ?? {}, Role: extra.role ?? 'worker', Availability: extra.availability ?? 'active' },
    Description: {
      Hostname: extra.hostname ?? 'host',
      Platform: { Architecture: extra.arch ?? 'x86_64', OS: 'linux' },
      Resources: { NanoCPUs: 1e9, MemoryBytes: 1e9 },
      Engine: { EngineVersion: '1', Plugins: [], ...(extra.engineLabels ? { Labels: extra.engineLabels } : {}) },
      TLSInfo: { TrustRoot: '', CertIssuerSubject: '', CertIssuerPublicKey: '' },
    },
    Status: { State: extra.state ?? 'ready', Addr: '10.0.0.1' },
  };
}

function service(id: string, placement: { Constraints?: string[]; MaxReplicas?: number; Platforms?: Array<{ OS?: string; Architecture?: string }> } = {}): Service {
  return {
    ...meta,
    ID: id,
    Spec: { Name: id, Labels: {}, TaskTemplate: { ContainerSpec: { Image: 'busybox' }, Placement: placement }, Mode: { Replicated: { Replicas: 1 } } },
    Endpoint: { Spec: {} },
  } as Service;
}

let seq = 0;
function task(serviceId: string, nodeId: string, state: TaskState = 'running', desired: TaskState = 'running'): Task {
  return {
    ...meta,
    ID: `t${++seq}`,
    Spec: { ContainerSpec: { Image: 'busybox' } },
    ServiceID: serviceId,
    NodeID: nodeId,
    Status: { Timestamp: meta.CreatedAt, State: state, Message: '' },
    DesiredState: desired,
    Slot: seq,
  } as Task;
}

describe('constraints (swarmkit syntax)', () => {
  it('parses == and != with spaces around the operator', () => {
    expect(parseConstraints(['node.role == worker', 'node.labels.zone!=east'])).toEqual([
      { key: 'node.role', op: '==', value: 'worker' },
      { key: 'node.labels.zone', op: '!=', value: 'east' },
    ]);
  });

  it('refuses an expression without an operator in swarmkit’s words', () => {
    expect(() => parseConstraints(['node.role=worker'])).toThrow('rpc error: code = InvalidArgument desc = constraint expected one operator from ==, !=');
  });

  it('refuses an invalid key and an invalid value in swarmkit’s words', () => {
    expect(() => parseConstraints(['9node==x'])).toThrow("key '9node' is invalid");
    expect(() => parseConstraints(['node.id==a>b'])).toThrow("value 'a>b' is invalid");
  });

  it('matches node.id, hostname, role, platform, node and engine labels without regard to the value’s case', () => {
    const n = node('abc', { role: 'worker', labels: { zone: 'East' }, engineLabels: { disk: 'ssd' }, hostname: 'box' });
    const holds = (c: string): boolean => nodeMatches(parseConstraints([c]), n);
    expect(['node.id==abc', 'node.hostname==BOX', 'node.role==worker', 'node.platform.os==linux', 'node.platform.arch==x86_64', 'node.labels.zone==east', 'engine.labels.disk==ssd'].every(holds)).toBe(true);
    expect(['node.role==manager', 'node.id!=abc', 'node.labels.zone!=EAST'].some(holds)).toBe(false);
  });

  it('takes a missing label as empty: == fails and != holds', () => {
    const n = node('a');
    expect(nodeMatches(parseConstraints(['node.labels.zone==east']), n)).toBe(false);
    expect(nodeMatches(parseConstraints(['node.labels.zone!=east']), n)).toBe(true);
  });

  it('satisfies no node with a key swarmkit does not know', () => {
    expect(nodeMatches(parseConstraints(['node.colour==blue']), node('a'))).toBe(false);
  });

  it('compares node label names as written (case-sensitive), the prefix in any case', () => {
    const n = node('a', { labels: { Zone: 'east' } });
    expect(nodeMatches(parseConstraints(['NODE.LABELS.Zone==east']), n)).toBe(true);
    expect(nodeMatches(parseConstraints(['node.labels.zone==east']), n)).toBe(false);
  });
});

describe('eligible nodes', () => {
  it('are the ready, active nodes', () => {
    const nodes = [node('a'), node('b', { availability: 'drain' }), node('c', { availability: 'pause' }), node('d', { state: 'down' })];
    expect(eligibleNodes(service('s'), nodes, []).nodes.map((n) => n.ID)).toEqual(['a']);
  });

  it('none ready: swarmkit’s pending message, counting the nodes', () => {
    expect(eligibleNodes(service('s'), [node('a', { state: 'down' })], []).err).toBe('no suitable node (1 node not available for new tasks)');
    expect(eligibleNodes(service('s'), [node('a', { state: 'down' }), node('b', { availability: 'drain' })], []).err).toBe('no suitable node (2 nodes not available for new tasks)');
  });

  it('each node counts against the first filter it fails, the most frequent reason first', () => {
    const nodes = [node('a', { availability: 'drain', role: 'manager' }), node('b', { role: 'worker' }), node('c', { role: 'worker' })];
    expect(eligibleNodes(service('s', { Constraints: ['node.role==manager'] }), nodes, []).err).toBe('no suitable node (scheduling constraints not satisfied on 2 nodes; 1 node not available for new tasks)');
  });

  it('turns away a node at MaxReplicas of the service, in swarmkit’s words', () => {
    const s = service('s', { MaxReplicas: 1 });
    expect(eligibleNodes(s, [node('a')], [task('s', 'a')]).err).toBe('no suitable node (max replicas per node limit exceed)');
    expect(eligibleNodes(s, [node('a')], [task('other', 'a'), task('s', 'a', 'shutdown', 'shutdown')]).nodes).toHaveLength(1);
  });

  it('checks Placement.Platforms, x86_64 being amd64', () => {
    expect(eligibleNodes(service('s', { Platforms: [{ OS: 'linux', Architecture: 'amd64' }] }), [node('a')], []).nodes).toHaveLength(1);
    expect(eligibleNodes(service('s', { Platforms: [{ Architecture: 'arm64' }] }), [node('a')], []).err).toBe('no suitable node (unsupported platform on 1 node)');
  });

  it('no nodes at all: no suitable node', () => {
    expect(eligibleNodes(service('s'), [], []).err).toBe('no suitable node');
  });
});

describe('scheduleTask (spread)', () => {
  it('picks the node with the fewest tasks of the service', () => {
    const tasks = [task('s', 'a'), task('s', 'a'), task('s', 'b'), task('x', 'b'), task('x', 'b')];
    expect(scheduleTask(service('s'), [node('a'), node('b')], tasks)).toEqual({ nodeId: 'b' });
  });

  it('then the fewest tasks in all', () => {
    const tasks = [task('s', 'a'), task('s', 'b'), task('x', 'a')];
    expect(scheduleTask(service('s'), [node('a'), node('b')], tasks)).toEqual({ nodeId: 'b' });
  });

  it('then the lowest ID', () => {
    expect(scheduleTask(service('s'), [node('b'), node('a')], [])).toEqual({ nodeId: 'a' });
  });

  it('counts only tasks that hold their node (live), not ended or shut-down ones', () => {
    const tasks = [task('s', 'a', 'failed', 'shutdown'), task('s', 'a', 'complete', 'shutdown'), task('s', 'b')];
    expect(scheduleTask(service('s'), [node('a'), node('b')], tasks)).toEqual({ nodeId: 'a' });
  });

  it('spreads tasks scheduled one after another when each assignment is counted', () => {
    const nodes = [node('m', { role: 'manager' }), node('w')];
    const tasks: Task[] = [];
    for (let i = 0; i < 4; i++) {
      const placed = scheduleTask(service('s'), nodes, tasks);
      if ('err' in placed) throw new Error(placed.err);
      tasks.push(task('s', placed.nodeId));
    }
    expect(tasks.map((t) => t.NodeID).sort()).toEqual(['m', 'm', 'w', 'w']);
  });

  it('puts tasks only where the constraints hold', () => {
    const nodes = [node('m', { role: 'manager' }), node('w', { role: 'worker' })];
    expect(scheduleTask(service('s', { Constraints: ['node.role==worker'] }), nodes, [task('s', 'w'), task('s', 'w')])).toEqual({ nodeId: 'w' });
  });

  it('answers the reason when no node suits', () => {
    expect(scheduleTask(service('s', { Constraints: ['node.labels.gpu==yes'] }), [node('a')], [])).toEqual({ err: 'no suitable node (scheduling constraints not satisfied on 1 node)' });
  });
});

describe('nodeKeepsTasks', () => {
  it('a drained, down or removed node does not keep its tasks; a paused one does', () => {
    expect([node('a'), node('b', { availability: 'pause' }), node('c', { availability: 'drain' }), node('d', { state: 'down' }), undefined].map(nodeKeepsTasks)).toEqual([true, true, false, false, false]);
  });
});
