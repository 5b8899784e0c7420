/** gossip topics and stream protocol ids of one mesh: every id names the mesh, so two meshes never cross-talk */

export const topics = {
  entries: (meshId: string) => `/minga/${meshId}/entries/1`
}

export const protocols = {
  sync: (meshId: string) => `/minga/${meshId}/sync/1.0.0`,
  join: (meshId: string) => `/minga/${meshId}/join/1.0.0`,
  logs: (meshId: string) => `/minga/${meshId}/logs/1.0.0`,
  events: (meshId: string) => `/minga/${meshId}/events/1.0.0`,
  /** chunks of images and other content by digest (wire-chunks.ts) */
  chunks: (meshId: string) => `/minga/${meshId}/chunks/1.0.0`,
  /** the chunks themselves, streamed (wire-chunks.ts: chunks-get and chunk frames) */
  chunksGet: (meshId: string) => `/minga/${meshId}/chunks-get/1.0.0`,
  /** the routing mesh: one stream per forwarded connection */
  forward: (meshId: string) => `/minga/${meshId}/forward/1.0.0`,
  membership: (meshId: string) => `/minga/${meshId}/membership/1.0.0`,
  /** backup blobs: put and has (request/response, wire-blobs.ts) */
  blobs: (meshId: string) => `/minga/${meshId}/blobs/1.0.0`,
  /** backup blobs: get (a stream of chunks) */
  blobGet: (meshId: string) => `/minga/${meshId}/blob-get/1.0.0`,
  /** volumes: handoff of a singleton's data, snapshot now, list (node/src/core/volumes/wire.ts) */
  volumes: (meshId: string) => `/minga/${meshId}/volumes/1.0.0`
}
