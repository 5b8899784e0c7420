/**
 * Names Docker Compose allows, mapped to names minga allows (lower-case
 * letters, digits and dashes, 1 to 63): `db_data` → `db-data`,
 * `My.App` → `my-app`. A project's services are named `<project>-<service>`,
 * so two projects' `db` never meet.
 */
import { NAME_PATTERN } from '@minga/protocol'

/** lower case, `_` and `.` as `-`, other characters dropped, no leading or trailing dash */
export function mingaName (written: string): string {
  return written.toLowerCase().replace(/[_.]/g, '-').replace(/[^a-z0-9-]/g, '').replace(/^-+|-+$/g, '')
}

/** true for a name minga accepts (NAME_PATTERN) */
export function isMingaName (name: string): boolean {
  return NAME_PATTERN.test(name)
}

/**
 * A project name as Docker Compose normalizes it (lower case, only
 * `a-z 0-9 _ -`, starting with a letter or digit), then as minga names it;
 * undefined when nothing usable is left
 */
export function projectName (written: string): string | undefined {
  const compose = written.toLowerCase().replace(/[^a-z0-9_-]/g, '').replace(/^[^a-z0-9]+/, '')
  const name = mingaName(compose)
  return isMingaName(name) ? name : undefined
}

/** `<project>-<service>`, or a problem saying why it cannot be */
export function serviceName (project: string, service: string): { name: string } | { problem: string } {
  const base = mingaName(service)
  const name = `${project}-${base}`
  if (base === '') return { problem: `the name ${JSON.stringify(service)} has no letter or digit minga can use` }
  if (!isMingaName(name)) return { problem: `becomes ${JSON.stringify(name)} in minga (project-service), more than 63 characters; choose a shorter project name with -p NAME` }
  return { name }
}
