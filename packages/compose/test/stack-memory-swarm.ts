import { CtrError } from '@ctr/errors';
import type { Config, ConfigSpec, Node, Secret, SecretSpec, Service, ServiceSpec, SwarmApi, SwarmFilters, Task } from '@ctr/swarm';
import type { StackNetworkCreate, StackNetworks } from '../src';

/**
 * An in-memory swarm and network list for the stack verbs' tests: objects and versions as
 * the cluster store keeps them, only the SwarmApi methods the stack verbs call.
 */
const NOW = '2025-01-01T00:00:00.000000000Z';

export class MemorySwarm {
  index = 1;
  manager = true;
  serviceList: Service[] = [];
  secretList: Secret[] = [];
  configList: Config[] = [];
  taskList: Task[] = [];
  calls: string[] = [];

  private meta(): { Version: { Index: number }; CreatedAt: string; UpdatedAt: string } {
    return { Version: { Index: ++this.index }, CreatedAt: NOW, UpdatedAt: NOW };
  }
  private labelled<T extends { Spec: { Name: string; Labels?: Record<string, string> } }>(items: T[], filters: SwarmFilters = {}): T[] {
    return items.filter(
      (item) =>
        (filters.label ?? []).every((label) => {
          const [key = '', value] = label.split('=');
          return item.Spec.Labels?.[key] !== undefined && (value === undefined || item.Spec.Labels[key] === value);
        }) && (filters.name ?? [item.Spec.Name]).some((name) => item.Spec.Name.startsWith(name)),
    );
  }

  async info(): Promise<{ ControlAvailable: boolean }> {
    return { ControlAvailable: this.manager };
  }
  async createService(spec: ServiceSpec): Promise<{ ID: string }> {
    const ID = `svc${this.index}`;
    this.calls.push(`createService ${spec.Name}`);
    this.serviceList.push({ ID, ...this.meta(), Spec: structuredClone(spec), Endpoint: { Spec: spec.EndpointSpec ?? {}, Ports: spec.EndpointSpec?.Ports ?? [] } });
    this.taskList.push({ ID: `task-${ID}`, ...this.meta(), Spec: spec.TaskTemplate, ServiceID: ID, Slot: 1, NodeID: 'node', DesiredState: 'running', Status: { Timestamp: NOW, State: 'running', Message: 'started' } });
    return { ID };
  }
  async services(filters?: SwarmFilters): Promise<Service[]> {
    return this.labelled(this.serviceList, filters);
  }
  async updateService(id: string, version: number, spec: ServiceSpec): Promise<{ Warnings?: string[] }> {
    const service = this.serviceList.find((s) => s.ID === id) as Service;
    if (service.Version.Index !== version) throw new CtrError('Conflict', 'update out of sequence');
    this.calls.push(`updateService ${spec.Name} v${version}`);
    Object.assign(service, this.meta(), { Spec: structuredClone(spec) });
    return {};
  }
  async removeService(id: string): Promise<void> {
    this.calls.push(`removeService ${this.serviceList.find((s) => s.ID === id)?.Spec.Name}`);
    this.serviceList = this.serviceList.filter((s) => s.ID !== id);
    for (const task of this.taskList) if (task.ServiceID === id) task.Status.State = 'shutdown';
  }
  async converge(id: string): Promise<unknown> {
    this.calls.push(`converge ${id}`);
    return {};
  }
  async nodes(): Promise<Node[]> {
    return [];
  }
  async tasks(): Promise<Task[]> {
    return this.taskList;
  }
  async createSecret(spec: SecretSpec): Promise<{ ID: string }> {
    this.calls.push(`createSecret ${spec.Name}`);
    const ID = `sec${this.index}`;
    this.secretList.push({ ID, ...this.meta(), Spec: structuredClone(spec) });
    return { ID };
  }
  async secrets(filters?: SwarmFilters): Promise<Secret[]> {
    return this.labelled(this.secretList, filters);
  }
  async updateSecret(id: string, _version: number, spec: SecretSpec): Promise<void> {
    const secret = this.secretList.find((s) => s.ID === id) as Secret;
    if (secret.Spec.Data !== spec.Data) throw new CtrError('InvalidArgument', 'only updates to Labels are allowed');
    this.calls.push(`updateSecret ${spec.Name}`);
  }
  async removeSecret(id: string): Promise<void> {
    this.calls.push(`removeSecret ${id}`);
    this.secretList = this.secretList.filter((s) => s.ID !== id);
  }
  async createConfig(spec: ConfigSpec): Promise<{ ID: string }> {
    this.calls.push(`createConfig ${spec.Name}`);
    const ID = `cfg${this.index}`;
    this.configList.push({ ID, ...this.meta(), Spec: structuredClone(spec) });
    return { ID };
  }
  async configs(filters?: SwarmFilters): Promise<Config[]> {
    return this.labelled(this.configList, filters);
  }
  async updateConfig(): Promise<void> {
    this.calls.push('updateConfig');
  }
  async removeConfig(id: string): Promise<void> {
    this.configList = this.configList.filter((s) => s.ID !== id);
  }

  /** Only what the stack verbs call is here. */
  api(): SwarmApi {
    return this as unknown as SwarmApi;
  }
}

export class MemoryNetworks implements StackNetworks {
  networks: Array<{ ID: string; Name: string; Scope: string; Labels: Record<string, string> }> = [];
  async list(namespace: string): Promise<Array<{ ID: string; Name: string }>> {
    return this.networks.filter((n) => n.Labels['com.docker.stack.namespace'] === namespace);
  }
  async scope(name: string): Promise<string | undefined> {
    return this.networks.find((n) => n.Name === name)?.Scope;
  }
  async create(request: StackNetworkCreate): Promise<void> {
    this.networks.push({ ID: `net-${request.Name}`, Name: request.Name, Scope: 'swarm', Labels: request.Labels });
  }
  async remove(id: string): Promise<void> {
    this.networks = this.networks.filter((n) => n.ID !== id);
  }
}

