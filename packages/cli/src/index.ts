/** @ctr/cli — the `ctr` command: docker's verbs and flags over @ctr/engine, no daemon needed. */
export { main } from './main';
export type { Io, Command } from './command';
