/**
 * @ctr/api — the Docker Engine API for @ctr/engine: `ctrd` serves it on a unix socket so the
 * docker CLI, dockerode and testcontainers drive ctr unchanged.
 */
export { ApiServer, type ApiServerOptions, type ListenAddress } from './server';
export { startDaemon, type Daemon, type DaemonOptions } from './daemon';
export { daemonMain } from './daemon-main';
export { daemonLog } from './daemon-log';
export { lockRoot, type DaemonLock } from './daemon-lock';
export { MAX_API_VERSION, MIN_API_VERSION } from './api-version';
export { createOptionsFromBody, updateOptionsFromBody } from './container-config';
export { statusOf } from './http-errors';
export { FrameDecoder, frameHeader, STDIN, STDOUT, STDERR } from './stdcopy';
export { ApiClient, type ApiClientOptions } from './client';
export type { ContainerCreateRequest, EndpointSettings, ExecCreateRequest, HostConfig, PingResponse, ProgressMessage, WaitResponse } from './api-types';
export type { TlsOptions } from './transport';
export type { SshOptions } from './ssh-transport';
export { dialStdio } from './dial-stdio';
export { RemoteEngine, type RemoteEngineOptions } from './remote-engine';
export { RemoteSwarm, convergeProgress, pollConvergence, type RemoteSwarmOptions } from './remote-swarm';
export { DaemonSwarm, swarmLoader, type LocalSwarm } from './routes/swarm';
export { contextTar, type ContextTarOptions } from './context-tar';
export { serverVersion, type CreateOptions, type EngineApi, type EngineVersion, type ServerVersion, type RunContainerOptions, type ImageRef, type LayerProgress, type PulledImage, type PushLayerProgress } from './engine-api';
export type { HijackedSession } from './client';
