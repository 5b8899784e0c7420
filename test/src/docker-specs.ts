/**
 * Service specs for the end-to-end tests, on the local test images
 * (scripts/test-image.sh): a long-running busybox process that stops at once
 * on SIGTERM, with a health check of a one-second interval (the shortest a
 * spec allows), so replicas turn healthy about a second after they start.
 * The timeout is generous: on a loaded machine `docker exec` of the check
 * alone can take seconds, and a failing check restarts the replica.
 */

export interface LongRunningOptions {
  name: string
  replicas: number
  /** minga/busybox:1 by default */
  image?: string
  maxUnavailable?: number
  spread?: 'node' | 'org'
  /** the health check's interval; default 1s (minga runs the first probes itself, so a long one is no slower to become healthy) */
  healthInterval?: string
}

/** `sleep` in the background so the TERM trap runs at once, not after the sleep */
export const LOOP_COMMAND = ['sh', '-c', "trap 'exit 0' TERM; while true; do sleep 1 & wait $!; done"]

/** a minga spec file of a service whose containers run until stopped (and stop at once on SIGTERM) */
export function longRunning (options: LongRunningOptions): string {
  return [
    `name: ${options.name}`,
    `image: ${options.image ?? 'minga/busybox:1'}`,
    `command: ${JSON.stringify(LOOP_COMMAND)}`,
    `replicas: ${options.replicas}`,
    'resources: { cpu: 50m, memory: 16Mi }',
    `spread: ${options.spread ?? 'node'}`,
    `health: { cmd: ["cat", "/etc/minga-test-image"], interval: ${options.healthInterval ?? '1s'}, timeout: 10s, retries: 3 }`,
    `update: { maxUnavailable: ${options.maxUnavailable ?? 1} }`,
    ''
  ].join('\n')
}
