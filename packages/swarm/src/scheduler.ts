import { rpcError } from './store';
import { live } from './tasks';
import type { Node, Service, Task } from './types';

/** One placement constraint, parsed (swarmkit's manager/constraint). */
export interface Constraint {
  key: string;
  op: '==' | '!=';
  value: string;
}

/** swarmkit's key and value patterns: a value must not hold an operator (`>`, `<`, `~`…) that may come later. */
const KEY = /^[a-z_][a-z0-9\-_.]+$/i;
const VALUE = /^[a-z0-9:\-_\s.*()?+[\]\\^$|/]+$/i;
const OPERATORS = ['==', '!='] as const;

/**
 * swarmkit's constraint.Parse: `key==value` or `key!=value`, the first operator found splits,
 * in swarmkit's words when it cannot (what `service create --constraint` answers, InvalidArgument).
 */
export function parseConstraints(constraints: readonly string[] = []): Constraint[] {
  return constraints.map((expression) => {
    const op = OPERATORS.find((o) => expression.includes(o));
    if (!op) throw rpcError('InvalidArgument', 'InvalidArgument', `constraint expected one operator from ${OPERATORS.join(', ')}`);
    const at = expression.indexOf(op);
    const key = expression.slice(0, at).trim();
    const value = expression.slice(at + op.length).trim();
    if (!KEY.test(key)) throw rpcError('InvalidArgument', 'InvalidArgument', `key '${key}' is invalid`);
    if (!VALUE.test(value)) throw rpcError('InvalidArgument', 'InvalidArgument', `value '${value}' is invalid`);
    return { key, op, value };
  });
}

/** What a constraint's key names on a node; undefined: a key swarmkit does not know, which no node satisfies. */
function attribute(node: Node, key: string): string | undefined {
  const lower = key.toLowerCase();
  if (lower === 'node.id') return node.ID;
  if (lower === 'node.hostname') return node.Description.Hostname ?? '';
  if (lower === 'node.role') return node.Spec.Role;
  if (lower === 'node.platform.os') return node.Description.Platform?.OS ?? '';
  if (lower === 'node.platform.arch') return node.Description.Platform?.Architecture ?? '';
  // The prefix in any case, the label's own name as written (swarmkit: "label itself is case sensitive").
  if (lower.startsWith('node.labels.') && key.length > 'node.labels.'.length) return node.Spec.Labels?.[key.slice('node.labels.'.length)] ?? '';
  if (lower.startsWith('engine.labels.') && key.length > 'engine.labels.'.length) return node.Description.Engine?.Labels?.[key.slice('engine.labels.'.length)] ?? '';
  return undefined;
}

/** swarmkit's constraint.NodeMatches: values compare without regard to case; a missing label is the empty string. */
export function nodeMatches(constraints: readonly Constraint[], node: Node): boolean {
  return constraints.every((c) => {
    const actual = attribute(node, c.key);
    if (actual === undefined) return false;
    const equal = actual.toLowerCase() === c.value.toLowerCase();
    return c.op === '==' ? equal : !equal;
  });
}

/** A task that holds its node for the scheduler's counts: meant to run there and not over. */
function holds(task: Task): boolean {
  return task.NodeID !== '' && live(task);
}

/**
 * swarmkit's filter pipeline, in its order; a node is turned away by the first filter it fails,
 * and each filter says in its words how many nodes it turned away.
 */
interface Filter {
  applies(service: Service): boolean;
  check(node: Node, service: Service, tasks: readonly Task[]): boolean;
  explain(nodes: number): string;
}

const FILTERS: readonly Filter[] = [
  {
    applies: () => true,
    check: (node) => node.Status.State === 'ready' && node.Spec.Availability === 'active',
    explain: (n) => `${n === 1 ? '1 node' : `${n} nodes`} not available for new tasks`,
  },
  {
    applies: (service) => (service.Spec.TaskTemplate.Placement?.Constraints ?? []).length > 0,
    check: (node, service) => {
      let constraints: Constraint[];
      try {
        constraints = parseConstraints(service.Spec.TaskTemplate.Placement?.Constraints);
      } catch {
        // swarmkit: validated when the service was made; one that no longer parses does not filter.
        return true;
      }
      return nodeMatches(constraints, node);
    },
    explain: (n) => `scheduling constraints not satisfied on ${n === 1 ? '1 node' : `${n} nodes`}`,
  },
  {
    applies: (service) => (service.Spec.TaskTemplate.Placement?.Platforms ?? []).length > 0,
    check: (node, service) => (service.Spec.TaskTemplate.Placement?.Platforms ?? []).some((p) => platformMatches(p, node)),
    explain: (n) => `unsupported platform on ${n === 1 ? '1 node' : `${n} nodes`}`,
  },
  {
    applies: (service) => (service.Spec.TaskTemplate.Placement?.MaxReplicas ?? 0) > 0,
    check: (node, service, tasks) => tasks.filter((t) => t.ServiceID === service.ID && t.NodeID === node.ID && holds(t)).length < (service.Spec.TaskTemplate.Placement?.MaxReplicas ?? 0),
    explain: () => 'max replicas per node limit exceed',
  },
];

/** swarmkit's PlatformFilter: x86_64 is amd64, an empty field matches any. */
function platformMatches(wanted: { OS?: string; Architecture?: string }, node: Node): boolean {
  const arch = (a: string | undefined): string | undefined => (a === 'x86_64' ? 'amd64' : a);
  const platform = node.Description.Platform;
  return (!wanted.Architecture || arch(wanted.Architecture) === arch(platform?.Architecture)) && (!wanted.OS || wanted.OS === platform?.OS);
}

/** The nodes a task of `service` may go to, or why none: swarmkit's `no suitable node (…)`, its most frequent reason first. */
export function eligibleNodes(service: Service, nodes: readonly Node[], tasks: readonly Task[]): { nodes: Node[]; err?: string } {
  const filters = FILTERS.filter((f) => f.applies(service));
  const failures = new Map<Filter, number>();
  const eligible = nodes.filter((node) => {
    const failed = filters.find((f) => !f.check(node, service, tasks));
    if (failed) failures.set(failed, (failures.get(failed) ?? 0) + 1);
    return !failed;
  });
  if (eligible.length > 0) return { nodes: eligible };
  // Stable: among filters that turned away as many nodes, the pipeline's order.
  const reasons = [...failures].sort((a, b) => b[1] - a[1]).map(([f, n]) => f.explain(n));
  return { nodes: [], err: reasons.length > 0 ? `no suitable node (${reasons.join('; ')})` : 'no suitable node' };
}

/**
 * The node for a new task of `service` (swarmkit's scheduler with its default spread): among the
 * eligible nodes, the one running the fewest tasks of the service, then the fewest tasks in
 * all, then the lowest ID. `tasks` are every task in the store, with the pass's earlier
 * assignments: tasks scheduled in one pass spread over the nodes.
 */
export function scheduleTask(service: Service, nodes: readonly Node[], tasks: readonly Task[]): { nodeId: string } | { err: string } {
  const { nodes: eligible, err } = eligibleNodes(service, nodes, tasks);
  if (eligible.length === 0) return { err: err ?? 'no suitable node' };
  const load = new Map<string, { service: number; all: number }>(eligible.map((n) => [n.ID, { service: 0, all: 0 }]));
  for (const task of tasks) {
    const entry = load.get(task.NodeID);
    if (!entry || !holds(task)) continue;
    entry.all++;
    if (task.ServiceID === service.ID) entry.service++;
  }
  const [best] = [...eligible].sort((a, b) => {
    const x = load.get(a.ID) as { service: number; all: number };
    const y = load.get(b.ID) as { service: number; all: number };
    return x.service - y.service || x.all - y.all || (a.ID < b.ID ? -1 : a.ID > b.ID ? 1 : 0);
  });
  return { nodeId: (best as Node).ID };
}

/** Whether a task's node still keeps it: it exists, is not drained, and is not down (a paused node keeps its tasks). */
export function nodeKeepsTasks(node: Node | undefined): boolean {
  return node !== undefined && node.Spec.Availability !== 'drain' && node.Status.State !== 'down';
}
