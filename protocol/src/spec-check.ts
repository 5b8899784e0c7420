/**
 * The rules of a service spec, applied to its normalized form: the exact
 * shape stored under `service/<org>/<name>`, with units resolved and defaults
 * filled in. `parseServiceSpec` (spec-parse.ts) turns a YAML file into this
 * form and then applies these same field checks, so a spec that parses is a
 * spec that every node accepts. `checkServiceSpec` runs on every service
 * entry the CRDT merges: no allocation beyond the problem list, no parsing.
 */
import { InvalidSpecError } from './errors.js'
import type { PortSpec, ServiceSpec } from './spec.js'
import { checkContainerFields } from './spec-check-container.js'
import { checkExpose, checkHttpRoutes, checkPortRouting, isHostModePort } from './spec-routes.js'
import {
  Problems, REQUIRED_FIELDS, RULES, SPEC_FIELD_SET, SPEC_LIMITS, at, checkAllowOrgs, checkCombined, checkCommand, checkConstraints, checkEnv,
  checkFields, checkHealthNumbers, checkImage, checkImageDigest, checkName, checkWatch, UPDATE_FIELDS, checkPort, checkPortsUnique, checkVolume, isPlainObject, isWhole
} from './spec-rules.js'

const RESOURCE_FIELDS = new Set(['cpu', 'memory'])
const HEALTH_FIELDS = new Set(['cmd', 'interval', 'timeout', 'retries', 'startPeriod'])

/**
 * Checks an already normalized spec (the form stored in the replicated
 * state: exact types, no unit strings, no unknown fields) and returns it
 * unchanged. Throws `InvalidSpecError` listing every problem.
 */
export function checkServiceSpec (value: unknown): ServiceSpec {
  const problems = new Problems()
  collectSpecProblems(value, '', problems)
  if (problems.size > 0) throw new InvalidSpecError(problems.list, 'The stored service spec')
  return value as ServiceSpec
}

function collectSpecProblems (value: unknown, path: string, problems: Problems): void {
  if (!isPlainObject(value)) {
    problems.bad(path === '' ? 'spec' : path, 'must be a mapping of service fields', value)
    return
  }
  checkFields(value, SPEC_FIELD_SET, path, problems)
  for (const field of REQUIRED_FIELDS) {
    if (value[field] === undefined) problems.add(at(path, field), 'missing (every stored spec has it)')
  }
  checkName(value.name, at(path, 'name'), problems)
  checkName(value.org, at(path, 'org'), problems)
  checkImage(value.image, at(path, 'image'), problems)
  if (value.imageDigest !== undefined) checkImageDigest(value.imageDigest, at(path, 'imageDigest'), problems)
  if (value.command !== undefined) checkCommand(value.command, at(path, 'command'), problems)
  if (value.env !== undefined) checkEnv(value.env, at(path, 'env'), problems)
  const replicasOk = isWhole(value.replicas, 0, SPEC_LIMITS.maxReplicas)
  if (!replicasOk && value.replicas !== undefined) problems.bad(at(path, 'replicas'), RULES.replicas, value.replicas)

  const resources = value.resources
  if (isPlainObject(resources)) {
    const where = at(path, 'resources')
    checkFields(resources, RESOURCE_FIELDS, where, problems)
    if (!isWhole(resources.cpu, SPEC_LIMITS.minCpu, SPEC_LIMITS.maxCpu)) problems.bad(at(where, 'cpu'), `must be a whole number of millicores from ${SPEC_LIMITS.minCpu} to ${SPEC_LIMITS.maxCpu}`, resources.cpu)
    if (!isWhole(resources.memory, SPEC_LIMITS.minMemory, SPEC_LIMITS.maxMemory)) problems.bad(at(where, 'memory'), `must be a whole number of bytes from ${SPEC_LIMITS.minMemory} to ${SPEC_LIMITS.maxMemory}`, resources.memory)
  } else if (resources !== undefined) {
    problems.bad(at(path, 'resources'), 'must be a mapping with cpu and memory', resources)
  }

  if (value.spread !== undefined && value.spread !== 'org' && value.spread !== 'node') problems.bad(at(path, 'spread'), RULES.spread, value.spread)
  if (value.allowOrgs !== undefined) checkAllowOrgs(value.allowOrgs, at(path, 'allowOrgs'), problems)
  if (value.constraints !== undefined) checkConstraints(value.constraints, at(path, 'constraints'), problems)

  const ports = value.ports
  if (Array.isArray(ports) && ports.length <= SPEC_LIMITS.maxPorts) {
    let portsOk = true
    for (let i = 0; i < ports.length; i++) {
      const ok = checkPort(ports[i], at(at(path, 'ports'), i), problems)
      if (ok) checkPortRouting(ports[i], at(at(path, 'ports'), i), problems)
      portsOk = ok && portsOk
    }
    if (portsOk) checkPortsUnique(ports, at(path, 'ports'), problems)
  } else if (ports !== undefined) {
    problems.bad(at(path, 'ports'), `must be a list of at most ${SPEC_LIMITS.maxPorts} ports`, ports)
  }

  if (value.health !== undefined) checkStoredHealth(value.health, at(path, 'health'), problems)

  const update = value.update
  let maxUnavailable: number | undefined
  if (isPlainObject(update)) {
    checkFields(update, UPDATE_FIELDS, at(path, 'update'), problems)
    if (isWhole(update.maxUnavailable, 0, SPEC_LIMITS.maxReplicas)) maxUnavailable = update.maxUnavailable
    else problems.bad(at(at(path, 'update'), 'maxUnavailable'), `must be a whole number from 0 to ${SPEC_LIMITS.maxReplicas}`, update.maxUnavailable)
    checkWatch(update, at(path, 'update'), problems)
  } else if (update !== undefined) {
    problems.bad(at(path, 'update'), 'must be a mapping with maxUnavailable', update)
  }

  const singletonOk = typeof value.singleton === 'boolean'
  if (!singletonOk && value.singleton !== undefined) problems.bad(at(path, 'singleton'), RULES.singleton, value.singleton)
  const standbyOk = typeof value.standby === 'boolean'
  if (!standbyOk && value.standby !== undefined) problems.bad(at(path, 'standby'), RULES.standby, value.standby)

  const volumes = value.volumes
  if (Array.isArray(volumes) && volumes.length <= SPEC_LIMITS.maxVolumes) {
    for (let i = 0; i < volumes.length; i++) checkVolume(volumes[i], at(at(path, 'volumes'), i), problems)
  } else if (volumes !== undefined) {
    problems.bad(at(path, 'volumes'), `must be a list of at most ${SPEC_LIMITS.maxVolumes} volumes`, volumes)
  }
  checkContainerFields(value, path, problems)
  if (value.http !== undefined) checkHttpRoutes(value.http, at(path, 'http'), problems)
  if (value.expose !== undefined) checkExpose(value.expose, at(path, 'expose'), problems)

  if (replicasOk) {
    const hostPorts = Array.isArray(value.ports) && value.ports.some((p: unknown) => isPlainObject(p) && isHostModePort(p as PortSpec))
    const namedVolumes = Array.isArray(value.volumes) && value.volumes.some((v: unknown) => isPlainObject(v) && v.name !== undefined)
    checkCombined({ replicas: value.replicas as number, singleton: singletonOk ? value.singleton as boolean : undefined, maxUnavailable, hostPorts, standby: standbyOk ? value.standby as boolean : undefined, namedVolumes }, path, problems)
  }
}

function checkStoredHealth (value: unknown, path: string, problems: Problems): void {
  if (!isPlainObject(value)) {
    problems.bad(path, 'must be a mapping with cmd, interval, timeout, retries and startPeriod', value)
    return
  }
  checkFields(value, HEALTH_FIELDS, path, problems)
  checkCommand(value.cmd, at(path, 'cmd'), problems)
  checkHealthNumbers(value, path, problems)
}
