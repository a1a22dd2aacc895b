export * from './digest';
export * from './media-types';
export * from './descriptor';
export * from './content';
export * from './memory-content-store';
export * from './docker-archive-load';
export * from './docker-archive-save';
export * from './oci-layout-graph';
