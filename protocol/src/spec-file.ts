/**
 * Specs back to spec files (`minga export`): one YAML text for a service or
 * a Compose project's services, in a fixed field order with human units
 * (`500m`, `64Mi`, `5s`), defaults left out and maps sorted, so the same
 * specs always give the same bytes and a change shows as the lines it
 * changes. `parseServiceSpec` reads the text back to equal specs (the
 * property the tests check); config files name their content through
 * `configSource`, which the caller writes beside the spec file.
 */
import { canonicalJson } from './canonical.js'
import { yaml as yamlLib } from './yaml-lib.js'
import { durationText } from './duration.js'
import { SPEC_DEFAULTS, type ConfigFileSpec, type PortSpec, type ServiceSpec, type TmpfsSpec, type VolumeSpec } from './spec.js'
import { normalizePort, normalizeVolume } from './spec-parse-fields.js'
import { Problems } from './spec-rules.js'

export interface SpecFileOptions {
  /** comment lines at the top of the file (without `#`) */
  header?: string[]
  /** where the content of a config file is written, relative to the spec file */
  configSource: (spec: ServiceSpec, file: ConfigFileSpec) => string
  /** write `org:` into the file (default: left out, so the file applies to the organization that applies it) */
  withOrg?: boolean
}

/** the spec file of `specs` (one: a service mapping; several: a `services:` mapping by name), as described above */
export function specFileText (specs: ServiceSpec[], options: SpecFileOptions): string {
  const sorted = [...specs].sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
  const header = (options.header ?? []).map(line => `# ${line}`.trimEnd()).join('\n')
  let body: unknown
  if (sorted.length === 1) {
    body = { name: sorted[0].name, ...(options.withOrg === true ? { org: sorted[0].org } : {}), ...fileFields(sorted[0], options) }
  } else {
    const orgs = [...new Set(sorted.map(s => s.org))]
    body = {
      ...(options.withOrg === true && orgs.length === 1 ? { org: orgs[0] } : {}),
      services: Object.fromEntries(sorted.map(spec => [spec.name, { ...(options.withOrg === true && orgs.length > 1 ? { org: spec.org } : {}), ...fileFields(spec, options) }]))
    }
  }
  const yaml = yamlLib().stringify(body, { lineWidth: 0, minContentWidth: 0, defaultStringType: 'PLAIN', defaultKeyType: 'PLAIN' })
  return header === '' ? yaml : `${header}\n${yaml}`
}

/** one service's fields as its file writes them, in the order people read them */
function fileFields (spec: ServiceSpec, options: SpecFileOptions): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  const put = (key: string, value: unknown, when = true): void => { if (when && value !== undefined) out[key] = value }
  put('project', spec.project)
  put('image', spec.image)
  put('entrypoint', spec.entrypoint)
  put('command', spec.command)
  put('user', spec.user)
  put('env', sortedMap(spec.env), Object.keys(spec.env).length > 0)
  put('replicas', spec.replicas)
  put('resources', { cpu: cpuText(spec.resources.cpu), memory: memoryText(spec.resources.memory) })
  if (spec.reservations !== undefined) {
    put('reservations', {
      ...(spec.reservations.cpu === undefined ? {} : { cpu: cpuText(spec.reservations.cpu) }),
      ...(spec.reservations.memory === undefined ? {} : { memory: memoryText(spec.reservations.memory) })
    })
  }
  put('spread', spec.spread, spec.spread !== SPEC_DEFAULTS.spread)
  put('allowOrgs', spec.allowOrgs)
  put('constraints', sortedMap(spec.constraints), Object.keys(spec.constraints).length > 0)
  put('excludedLabels', spec.excludedLabels === undefined ? undefined : sortedMap(spec.excludedLabels))
  put('ports', spec.ports.map(portText), spec.ports.length > 0)
  put('http', spec.http)
  put('expose', spec.expose)
  if (spec.health !== undefined) {
    const h = spec.health
    put('health', {
      cmd: h.cmd,
      ...(h.interval === SPEC_DEFAULTS.healthInterval ? {} : { interval: durationText(h.interval) }),
      ...(h.timeout === SPEC_DEFAULTS.healthTimeout ? {} : { timeout: durationText(h.timeout) }),
      ...(h.retries === SPEC_DEFAULTS.healthRetries ? {} : { retries: h.retries }),
      ...(h.startPeriod === SPEC_DEFAULTS.healthStartPeriod ? {} : { startPeriod: durationText(h.startPeriod) })
    })
  }
  put('update', { maxUnavailable: spec.update.maxUnavailable }, spec.update.maxUnavailable !== SPEC_DEFAULTS.maxUnavailable)
  put('singleton', true, spec.singleton)
  put('standby', spec.standby)
  put('volumes', spec.volumes.map(volumeText), spec.volumes.length > 0)
  put('tmpfs', spec.tmpfs?.map(tmpfsText))
  put('configs', spec.configs?.map(file => ({ path: file.path, source: options.configSource(spec, file), mode: modeText(file.mode), ...owner(file) })))
  put('secretFiles', spec.secretFiles?.map(file => ({
    secret: file.secret,
    ...(file.path === `/run/secrets/${file.secret}` ? {} : { path: file.path }),
    ...(file.mode === 0o444 ? {} : { mode: modeText(file.mode) }),
    ...owner(file)
  })))
  return out
}

function sortedMap<T> (map: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.keys(map).sort().map(key => [key, map[key]]))
}

function owner (file: { uid?: number, gid?: number }): Record<string, number> {
  return { ...(file.uid === undefined ? {} : { uid: file.uid }), ...(file.gid === undefined ? {} : { gid: file.gid }) }
}

/** millicores as cores when whole (`2`), else `500m` */
function cpuText (millicores: number): string | number {
  return millicores % 1000 === 0 ? millicores / 1000 : `${millicores}m`
}

const BINARY_UNITS: Array<[string, number]> = [['Ti', 2 ** 40], ['Gi', 2 ** 30], ['Mi', 2 ** 20], ['Ki', 2 ** 10]]

/** bytes as the largest binary unit that divides them (`64Mi`), else bytes */
function memoryText (bytes: number): string | number {
  for (const [unit, size] of BINARY_UNITS) if (bytes % size === 0) return `${bytes / size}${unit}`
  return bytes
}

function modeText (mode: number): string {
  return `0${mode.toString(8).padStart(3, '0')}`
}

/** `[ip:]host:container[/udp]` when that reads back to the same port, else the mapping */
function portText (port: PortSpec): unknown {
  const ip = port.hostIp === undefined ? '' : port.hostIp.includes(':') ? `[${port.hostIp}]:` : `${port.hostIp}:`
  const text = `${port.host === undefined ? '' : `${ip}${port.host}:`}${port.container}${port.protocol === 'tcp' ? '' : `/${port.protocol}`}`
  return readsBack(text, port, normalizePort) ? text : port
}

/** `name:/path[:ro]` or `/path` when that reads back to the same volume, else the mapping */
function volumeText (volume: VolumeSpec): unknown {
  const text = volume.name === undefined ? volume.path : `${volume.name}:${volume.path}${volume.readOnly ? ':ro' : ''}`
  return readsBack(text, volume, (raw, path, problems) => normalizeVolume(raw, () => undefined, path, problems)) ? text : volume
}

function tmpfsText (mount: TmpfsSpec): unknown {
  if (mount.size === undefined && mount.mode === undefined) return mount.path
  return { path: mount.path, ...(mount.size === undefined ? {} : { size: memoryText(mount.size) }), ...(mount.mode === undefined ? {} : { mode: modeText(mount.mode) }) }
}

function readsBack<T> (text: string, value: T, read: (raw: unknown, path: string, problems: Problems) => T | undefined): boolean {
  const problems = new Problems()
  const back = read(text, '', problems)
  return problems.size === 0 && canonicalJson(back as never) === canonicalJson(value as never)
}
