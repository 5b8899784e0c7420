/**
 * Telling a Compose file from a minga spec file, by name and by content:
 * `stack.yml` with `version:`, `deploy:` or `environment:` is Compose
 * whatever it is called. A file that could be either (services with only an
 * image, command, ports and named volumes) is Compose only by its name.
 */
import { readComposeYaml } from './yaml.js'

/** true for a Compose file's name: `compose.yaml`, `docker-compose.yml`, `compose.prod.yaml`… */
export function isComposeFileName (path: string): boolean {
  return /(^|\/)(docker-)?compose[^/]*\.ya?ml$/i.test(path)
}

/** top-level fields of Compose that minga spec files do not have */
const COMPOSE_TOP = new Set(['version', 'name', 'volumes', 'networks', 'configs', 'secrets', 'include'])
/** service fields of Compose that minga spec files do not have */
const COMPOSE_SERVICE = new Set([
  'build', 'deploy', 'environment', 'env_file', 'healthcheck', 'restart', 'depends_on', 'container_name', 'expose', 'networks', 'links',
  'mem_limit', 'mem_reservation', 'cpus', 'profiles', 'labels', 'logging', 'secrets', 'network_mode', 'hostname', 'stop_grace_period',
  'privileged', 'cap_add', 'working_dir', 'extra_hosts', 'init', 'tty', 'stdin_open', 'platform', 'scale', 'extends', 'devices', 'sysctls'
])
/** fields only minga spec files have */
const MINGA_ONLY = new Set(['org', 'env', 'health', 'replicas', 'resources', 'update', 'singleton', 'spread', 'allowOrgs', 'constraints', 'secretFiles', 'reservations', 'excludedLabels', 'project'])

/** whether the text reads as a Compose file; false for a minga spec file, for text that could be either, and for text that is no YAML mapping */
export function looksLikeCompose (text: string): boolean {
  const read = readComposeYaml(text)
  if ('problems' in read || read.value === null || typeof read.value !== 'object' || Array.isArray(read.value)) return false
  const root = read.value as Record<string, unknown>
  const keys = Object.keys(root)
  if (keys.some(k => MINGA_ONLY.has(k)) || !keys.includes('services')) return false
  if (keys.some(k => COMPOSE_TOP.has(k) || k.startsWith('x-'))) return true
  const services = root.services
  if (services === null || typeof services !== 'object' || Array.isArray(services)) return false
  const fields = Object.values(services).flatMap(s => s !== null && typeof s === 'object' && !Array.isArray(s) ? Object.keys(s) : [])
  if (fields.some(f => MINGA_ONLY.has(f))) return false
  return fields.some(f => COMPOSE_SERVICE.has(f) || f.startsWith('x-'))
}
