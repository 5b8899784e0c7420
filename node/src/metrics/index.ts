export * from './metrics.js'
export * from './counter-from.js'
export * from './libp2p.js'
