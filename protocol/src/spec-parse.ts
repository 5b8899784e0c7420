/**
 * Service spec files: YAML in, normalized `ServiceSpec`s out, or an
 * `InvalidSpecError` listing every problem. A file holds one of:
 *
 * ```yaml
 * # one service: a mapping with name
 * name: web
 * image: nginx:1.27
 * ---
 * # several: a services mapping, name → service (org here applies to all)
 * org: acme
 * services:
 *   web: { image: nginx:1.27, replicas: 3, ports: ["8080:80"] }
 *   db: { image: postgres:16, singleton: true, volumes: ["pgdata:/var/lib/postgresql/data"] }
 * ---
 * # or a plain list of services, each with its name
 * - { name: web, image: nginx:1.27 }
 * ```
 *
 * (The `---` above only separates the examples: a file holds one YAML
 * document.) Human units are resolved here: cpu in cores (`0.5`, `2`) or
 * millicores (`500m`); memory in bytes or `64Mi`, `1Gi` (binary) or `512M`,
 * `1G` (decimal); health durations like `500ms`, `5s`, `1m30s`. A command
 * given as one string runs as `sh -c <string>`. Scalars that YAML reads as
 * numbers keep their written form where a string is meant (`VERSION: 1.10`
 * stays "1.10"). A field set to null counts as left out.
 */
import { canonicalJson } from './canonical.js'
import { InvalidSpecError } from './errors.js'
import { SPEC_DEFAULTS, type ConfigFileSpec, type PortSpec, type SecretFileSpec, type ServiceSpec, type TmpfsSpec, type VolumeSpec } from './spec.js'
import {
  Problems, RULES, SPEC_FIELDS, SPEC_LIMITS, at, describe, checkAllowOrgs, checkCombined, checkCommand,
  checkFields, checkImage, checkImageDigest, checkName, checkPortsUnique, checkWatch, isPlainObject, isWhole, UPDATE_FIELDS
} from './spec-rules.js'
import { parseDuration } from './duration.js'
import type { UpdateSpec } from './spec.js'
import { checkMountPathsUnique } from './spec-check-container.js'
import { normalizeEntrypoint, normalizePlacement, normalizeReservations, normalizeSecretFile, normalizeTmpfs, normalizeUser } from './spec-parse-container.js'
import { isHostModePort, normalizeExpose, normalizeHttp } from './spec-routes.js'
import { SPEC_FILE_LIMITS, child, own, readSpecYaml, scalarText, type Texts } from './spec-yaml.js'
import { normalizeConfigFile, type ConfigReader } from './spec-configs.js'
import { normalizeCommand, normalizeEnv, normalizeHealth, normalizeList, normalizePort, normalizeResources, normalizeVolume } from './spec-parse-fields.js'

export { checkServiceSpec } from './spec-check.js'
export { SPEC_LIMITS } from './spec-rules.js'
export { parseMode } from './spec-parse-container.js'
export { projectConflict } from './spec-check-container.js'
export { splitWords, type Words } from './spec-words.js'
export { parseCpu, parseMemory } from './spec-units.js'
export { SPEC_FILE_LIMITS, duplicateKeys, yamlLimitProblem } from './spec-yaml.js'
export { configChunks, type ConfigReader } from './spec-configs.js'

export interface ParseSpecOptions {
  /** names the file in error messages, e.g. `web.yaml` */
  source?: string
  /** the organization of services that do not name one */
  org?: string
  /** reads the files that `configs:` name; without it a spec file cannot carry config files */
  readConfig?: ConfigReader
}

const SPEC_FIELD_SET = new Set<string>(SPEC_FIELDS)
const FILE_FIELDS = new Set(['org', 'services'])

interface ContainerExtras {
  project?: string
  user?: string
  reservations?: ServiceSpec['reservations']
  excludedLabels?: Record<string, string[]>
  tmpfs?: TmpfsSpec[]
  secretFiles?: SecretFileSpec[]
  configs?: ConfigFileSpec[]
}

/**
 * Parses a spec file into fully normalized specs. Throws `InvalidSpecError`
 * listing every problem found; nothing is returned unless all is well.
 */
export function parseServiceSpec (text: string, options: ParseSpecOptions = {}): ServiceSpec[] {
  const source = options.source ?? 'The service spec'
  const fail = (problems: string[]): never => {
    throw new InvalidSpecError(problems, source)
  }
  const yaml = readSpecYaml(text)
  if (Array.isArray(yaml)) return fail(yaml)
  const problems = new Problems()
  const specs = normalizeFile(yaml.value, yaml.texts, options, problems)
  if (problems.size > 0) fail(problems.list)
  return specs
}

interface Item { raw: unknown, texts: Texts, path: string, nameFromKey?: string }

function normalizeFile (root: unknown, texts: Texts, options: ParseSpecOptions, problems: Problems): ServiceSpec[] {
  let items: Item[]
  let fileOrg: unknown = options.org
  if (root === null || root === undefined) {
    problems.add('', 'the file is empty: write a service (name:, image:, …), a services: mapping, or a list of services')
    return []
  } else if (Array.isArray(root)) {
    items = root.map((raw, i) => ({ raw, texts: child(texts, i), path: `[${i}]` }))
  } else if (isPlainObject(root) && Object.hasOwn(root, 'services')) {
    checkFields(root, FILE_FIELDS, '', problems)
    if (own(root, 'org') !== undefined) {
      fileOrg = scalarText(root.org, child(texts, 'org'))
      checkName(fileOrg, 'org', problems)
    }
    const services = root.services
    if (!isPlainObject(services)) {
      problems.bad('services', 'must be a mapping of service name to service', services)
      return []
    }
    const serviceTexts = child(texts, 'services')
    items = Object.keys(services).map(name => ({ raw: services[name], texts: child(serviceTexts, name), path: at('services', name), nameFromKey: name }))
  } else if (isPlainObject(root)) {
    items = [{ raw: root, texts, path: '' }]
  } else {
    problems.add('', `the file must hold a service (a mapping with name:), a services: mapping, or a list of services (got ${describe(root)})`)
    return []
  }
  if (items.length > SPEC_FILE_LIMITS.maxServices) {
    problems.add('', `the file holds ${items.length} services; at most ${SPEC_FILE_LIMITS.maxServices} per file (split it into several files)`)
    return []
  }
  if (items.length === 0) problems.add('', 'the file lists no services')

  const specs: ServiceSpec[] = []
  const seen = new Map<string, string>()
  for (const item of items) {
    const spec = normalizeService(item, fileOrg, options.readConfig, problems)
    if (spec === undefined) continue
    const id = `${spec.org}/${spec.name}`
    const first = seen.get(id)
    if (first !== undefined) problems.add(item.path, `the service ${id} is defined twice (first at ${first})`)
    else seen.set(id, item.path)
    specs.push(spec)
  }
  return specs
}

function normalizeService (item: Item, defaultOrg: unknown, readConfig: ConfigReader | undefined, problems: Problems): ServiceSpec | undefined {
  const { raw, texts, path } = item
  if (!isPlainObject(raw)) {
    problems.bad(path, 'must be a mapping of service fields (name, image, …)', raw)
    return undefined
  }
  const before = problems.size
  checkFields(raw, SPEC_FIELD_SET, path, problems)
  const get = (key: string): unknown => own(raw, key)
  const text = (key: string): unknown => scalarText(get(key), child(texts, key))

  let name = text('name')
  if (item.nameFromKey !== undefined) {
    if (name !== undefined && name !== item.nameFromKey) problems.bad(at(path, 'name'), `must match the key it is listed under (${JSON.stringify(item.nameFromKey)}), or be left out`, name)
    name = item.nameFromKey
  }
  checkName(name, at(path, 'name'), problems)

  const org = text('org') ?? defaultOrg
  if (org === undefined) problems.add(at(path, 'org'), `missing (name the organization that owns the service, e.g. org: acme; ${RULES.name})`)
  else checkName(org, at(path, 'org'), problems)

  const image = text('image')
  checkImage(image, at(path, 'image'), problems)
  const imageDigest = get('imageDigest') === undefined ? undefined : scalarText(get('imageDigest'), child(texts, 'imageDigest'))
  if (imageDigest !== undefined) checkImageDigest(imageDigest, at(path, 'imageDigest'), problems)

  const command = get('command') === undefined ? undefined : normalizeCommand(get('command'), child(texts, 'command'), at(path, 'command'), problems)
  const entrypoint = get('entrypoint') === undefined ? undefined : normalizeEntrypoint(get('entrypoint'), child(texts, 'entrypoint'), at(path, 'entrypoint'), problems)
  if (entrypoint !== undefined) checkCommand(entrypoint, at(path, 'entrypoint'), problems, { allowEmpty: true })
  const env = normalizeEnv(get('env'), child(texts, 'env'), at(path, 'env'), problems)

  const replicas = get('replicas') ?? SPEC_DEFAULTS.replicas
  const replicasOk = isWhole(replicas, 0, SPEC_LIMITS.maxReplicas)
  if (!replicasOk) problems.bad(at(path, 'replicas'), RULES.replicas, replicas)

  const resources = normalizeResources(get('resources'), at(path, 'resources'), problems)

  const spread = get('spread') ?? SPEC_DEFAULTS.spread
  if (spread !== 'org' && spread !== 'node') problems.bad(at(path, 'spread'), RULES.spread, spread)

  let allowOrgs: unknown
  if (get('allowOrgs') !== undefined) {
    const listed = get('allowOrgs')
    allowOrgs = Array.isArray(listed) ? listed.map((org, i) => scalarText(org, child(child(texts, 'allowOrgs'), i))) : listed
    checkAllowOrgs(allowOrgs, at(path, 'allowOrgs'), problems)
  }

  const { constraints, excluded } = normalizePlacement(get('constraints'), get('excludedLabels'), child(texts, 'constraints'), { constraints: at(path, 'constraints'), excluded: at(path, 'excludedLabels') }, problems)
  const ports = normalizeList(get('ports'), SPEC_LIMITS.maxPorts, 'ports', at(path, 'ports'), problems, normalizePort, checkPortsUnique)
  const health = get('health') === undefined ? undefined : normalizeHealth(get('health'), child(texts, 'health'), at(path, 'health'), problems)

  const update = get('update')
  let maxUnavailable: number | undefined = SPEC_DEFAULTS.maxUnavailable
  let watch: Pick<UpdateSpec, 'watch' | 'watchInterval'> = {}
  if (update !== undefined && !isPlainObject(update)) {
    problems.bad(at(path, 'update'), 'must be a mapping with maxUnavailable', update)
  } else if (update !== undefined) {
    checkFields(update, UPDATE_FIELDS, at(path, 'update'), problems)
    const value = own(update, 'maxUnavailable') ?? SPEC_DEFAULTS.maxUnavailable
    maxUnavailable = isWhole(value, 0, SPEC_LIMITS.maxReplicas) ? value : undefined
    if (maxUnavailable === undefined) problems.bad(at(at(path, 'update'), 'maxUnavailable'), `must be a whole number from 0 to ${SPEC_LIMITS.maxReplicas} (0 starts each new replica before stopping the old; the replicas or more replaces all at once)`, value)
    const interval = own(update, 'watchInterval')
    watch = {
      ...(own(update, 'watch') === undefined ? {} : { watch: own(update, 'watch') as boolean }),
      ...(interval === undefined ? {} : { watchInterval: parseDuration(interval) })
    }
    const where = at(path, 'update')
    if (interval !== undefined && Number.isNaN(watch.watchInterval)) problems.bad(at(where, 'watchInterval'), 'must be a duration from 1m to 7d, like 10m', interval)
    else checkWatch(watch, where, problems)
  }

  const singleton = get('singleton') ?? false
  if (typeof singleton !== 'boolean') problems.bad(at(path, 'singleton'), RULES.singleton, singleton)
  const standby = get('standby')
  if (standby !== undefined && typeof standby !== 'boolean') problems.bad(at(path, 'standby'), RULES.standby, standby)

  const volumeTexts = child(texts, 'volumes')
  const volumes = normalizeList(get('volumes'), SPEC_LIMITS.maxVolumes, 'volumes', at(path, 'volumes'), problems, (item, where, p, i) => normalizeVolume(item, child(volumeTexts, i), where, p), () => {})
  const extra = normalizeContainerFields(get, texts, path, resources, readConfig, problems)

  const hostPorts = Array.isArray(ports) && ports.some(p => p !== undefined && isHostModePort(p))
  const http = get('http') === undefined ? undefined : normalizeHttp(get('http'), at(path, 'http'), problems)
  const expose = get('expose') === undefined ? undefined : normalizeExpose(get('expose'), at(path, 'expose'), problems)
  const namedVolumes = Array.isArray(volumes) && volumes.some(v => v?.name !== undefined)
  if (replicasOk) checkCombined({ replicas: replicas as number, singleton: typeof singleton === 'boolean' ? singleton : undefined, maxUnavailable, hostPorts, standby: typeof standby === 'boolean' ? standby : undefined, namedVolumes }, path, problems)
  if (problems.size > before) return undefined

  if (Object.keys(excluded).length > 0) extra.excludedLabels = excluded
  checkMountPathsUnique({ volumes, ...extra }, path, problems)
  if (problems.size > before) return undefined

  const spec: ServiceSpec = {
    name: name as string,
    org: org as string,
    ...(extra.project !== undefined ? { project: extra.project } : {}),
    image: image as string,
    ...(imageDigest !== undefined ? { imageDigest: imageDigest as string } : {}),
    ...(entrypoint !== undefined ? { entrypoint } : {}),
    ...(command !== undefined ? { command } : {}),
    ...(extra.user !== undefined ? { user: extra.user } : {}),
    env,
    replicas: replicas as number,
    resources: resources!,
    ...(extra.reservations !== undefined ? { reservations: extra.reservations } : {}),
    spread: spread as ServiceSpec['spread'],
    ...(allowOrgs !== undefined ? { allowOrgs: allowOrgs as string[] } : {}),
    constraints,
    ...(extra.excludedLabels !== undefined ? { excludedLabels: extra.excludedLabels } : {}),
    ports: ports as PortSpec[],
    ...(health !== undefined ? { health } : {}),
    update: { maxUnavailable: maxUnavailable!, ...watch },
    singleton: singleton as boolean,
    ...(typeof standby === 'boolean' ? { standby } : {}),
    volumes: volumes as VolumeSpec[],
    ...(extra.tmpfs !== undefined ? { tmpfs: extra.tmpfs } : {}),
    ...(extra.configs !== undefined && extra.configs.length > 0 ? { configs: extra.configs } : {}),
    ...(extra.secretFiles !== undefined ? { secretFiles: extra.secretFiles } : {}),
    ...(http !== undefined ? { http } : {}),
    ...(expose !== undefined ? { expose } : {})
  }
  const size = canonicalJson(spec).length
  if (size > SPEC_LIMITS.maxSpecBytes) {
    problems.add(path, `the normalized spec is ${size} bytes (at most ${SPEC_LIMITS.maxSpecBytes}); move large values out of env and command`)
    return undefined
  }
  return spec
}

function normalizeContainerFields (get: (key: string) => unknown, texts: Texts, path: string, resources: unknown, readConfig: ConfigReader | undefined, problems: Problems): ContainerExtras {
  const extra: ContainerExtras = {}
  if (get('project') !== undefined) {
    const project = scalarText(get('project'), child(texts, 'project'))
    checkName(project, at(path, 'project'), problems)
    extra.project = project as string
  }
  if (get('user') !== undefined) extra.user = normalizeUser(get('user'), child(texts, 'user'), at(path, 'user'), problems)
  if (get('reservations') !== undefined) extra.reservations = normalizeReservations(get('reservations'), resources, at(path, 'reservations'), problems)
  const tmpfsTexts = child(texts, 'tmpfs')
  if (get('tmpfs') !== undefined) extra.tmpfs = normalizeList(get('tmpfs'), SPEC_LIMITS.maxTmpfs, 'tmpfs mounts', at(path, 'tmpfs'), problems, (item, where, p, i) => normalizeTmpfs(item, child(tmpfsTexts, i), where, p), () => {})
  const secretTexts = child(texts, 'secretFiles')
  if (get('secretFiles') !== undefined) extra.secretFiles = normalizeList(get('secretFiles'), SPEC_LIMITS.maxSecretFiles, 'secret files', at(path, 'secretFiles'), problems, (item, where, p, i) => normalizeSecretFile(item, child(secretTexts, i), where, p), () => {})
  const configTexts = child(texts, 'configs')
  if (get('configs') !== undefined && readConfig === undefined) problems.add(at(path, 'configs'), 'config files name files beside the spec file, which only a reader of that folder has: deploy it with "minga deploy -f FILE" or "minga apply DIR"')
  else if (get('configs') !== undefined) extra.configs = normalizeList(get('configs'), SPEC_LIMITS.maxConfigFiles, 'config files', at(path, 'configs'), problems, (item, where, p, i) => normalizeConfigFile(item, child(configTexts, i), where, p, readConfig!), () => {})
  return extra
}
