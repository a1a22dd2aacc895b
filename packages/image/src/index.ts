export * from './digest';
export * from './media-types';
export * from './descriptor';
export * from './content';
