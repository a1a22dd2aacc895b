export * from './digest';
export * from './media-types';
export * from './descriptor';
export * from './content';
export * from './memory-content-store';
