/**
 * What becomes of each field of a Compose service that minga does not
 * translate: ignored with a warning that says what really happens, or
 * refused with what to do instead. Every warning must stay true: every
 * service is on its node's service network, and the services of a project
 * reach each other by their Compose names (docs/INGRESS.md).
 */

import { hasBackupLabels } from './backup.js'

/** what Compose's networking fields become on minga */
export const BY_NAME = 'every service of the project reaches the others by their Compose names (db) on the ports they list in ports or expose, wherever they run'

/** service fields minga ignores, and what happens instead */
export const IGNORED: Record<string, (value: unknown) => string> = {
  depends_on: (value) => `ignored: minga starts every service at once and does not wait for ${listed(value)} (retry until it answers); ${BY_NAME}`,
  networks: () => `ignored: minga puts every service on its node's service network; ${BY_NAME}`,
  links: () => `ignored: no aliases; ${BY_NAME}`,
  external_links: () => 'ignored: a service outside the project is reached by its minga name (web, or web.ORG for another organization\'s service that exposes itself)',
  container_name: () => 'ignored: minga names containers itself (minga-ORG-SERVICE-REPLICA-…); use minga ps and minga logs SERVICE',
  hostname: () => 'ignored: a container\'s hostname is its container id',
  domainname: () => 'ignored: containers get no domain name',
  restart: (value) => value === 'no' || value === 'on-failure'
    ? `ignored: minga restarts every replica that exits, with a growing back-off, whatever restart says (${String(value)} would not)`
    : 'ignored: minga restarts every replica that exits, with a growing back-off',
  stop_grace_period: () => 'ignored: minga gives a container 10 s to stop, then kills it',
  stop_signal: () => 'ignored: containers stop with their image\'s stop signal',
  logging: () => 'ignored: minga keeps container logs itself (3 files of 10 MB each); minga logs SERVICE shows them',
  labels: (value) => hasBackupLabels(value) ? '' : 'ignored: minga labels containers itself (it reads only the backup labels: backupbot.backup…, io.minga.backup.interval)',
  init: () => 'ignored: whether containers run Docker\'s init is set per node (minga up)',
  tty: () => 'ignored: containers run without a terminal',
  stdin_open: () => 'ignored: containers run without stdin',
  platform: () => 'ignored: each node pulls the image for its own platform',
  pull_policy: () => 'ignored: a node pulls an image only when it does not have it',

}

const HOST_ONLY = 'minga runs each service on any node of the mesh and does not give containers this machine\'s'

/** service fields minga refuses, and what to do instead */
export const REFUSED: Record<string, string> = {
  network_mode: 'minga decides container networking; remove network_mode',
  privileged: 'minga does not run privileged containers; remove privileged',
  devices: `${HOST_ONLY} devices; remove devices`,
  cap_add: 'minga runs containers with Docker\'s default capabilities; remove cap_add',
  cap_drop: 'minga runs containers with Docker\'s default capabilities; remove cap_drop',
  sysctls: 'minga does not set kernel parameters of containers; remove sysctls',
  pid: `${HOST_ONLY} process namespace; remove pid`,
  ipc: `${HOST_ONLY} IPC namespace; remove ipc`,
  userns_mode: 'minga does not change user namespaces; remove userns_mode',
  security_opt: 'minga runs containers with Docker\'s default security options; remove security_opt',
  cgroup_parent: 'minga places containers in cgroups itself; remove cgroup_parent',
  volumes_from: 'each minga service has its own volumes; mount a named volume instead of volumes_from',
  extends: 'write the service out in full, or share fields with YAML anchors and merge keys (<<: *default); extends is not supported',
  extra_hosts: 'minga does not edit containers\' /etc/hosts; remove extra_hosts',
  dns: 'containers use their node\'s DNS; remove dns',
  dns_search: 'containers use their node\'s DNS; remove dns_search',
  working_dir: 'minga runs the image\'s working directory; set WORKDIR in the image',
  read_only: 'minga does not make container file systems read-only yet; remove read_only',
  shm_size: 'minga does not size /dev/shm yet; remove shm_size, or mount a tmpfs at /dev/shm',
  ulimits: 'minga runs containers with Docker\'s default limits; remove ulimits',
  memswap_limit: 'minga does not set swap limits; remove memswap_limit',
  cpu_shares: 'give cpus (or deploy.resources.limits.cpus) instead of cpu_shares',
  cpuset: 'minga does not pin containers to cpus; remove cpuset',
  oom_score_adj: 'remove oom_score_adj',
  group_add: 'give the group in user: (user: "1000:1000") instead of group_add',
  gpus: `${HOST_ONLY} GPUs; remove gpus`,
  develop: 'minga deploys images, not source folders; remove develop',
  attach: 'remove attach',
  annotations: 'remove annotations'
}

/** service fields the translation reads */
export const TRANSLATED = new Set([
  'image', 'build', 'command', 'entrypoint', 'environment', 'env_file', 'ports', 'expose', 'volumes', 'tmpfs', 'configs', 'secrets', 'user',
  'healthcheck', 'deploy', 'mem_limit', 'mem_reservation', 'cpus', 'profiles', 'scale'
])

export const TOP_LEVEL = new Set(['version', 'name', 'services', 'volumes', 'networks', 'configs', 'secrets'])

/** the names of a list or mapping for a message (`a, b`), or `other services` */
export function listed (value: unknown): string {
  const names = Array.isArray(value) ? value : value !== null && typeof value === 'object' ? Object.keys(value) : []
  return names.length === 0 ? 'other services' : names.map(String).join(', ')
}
